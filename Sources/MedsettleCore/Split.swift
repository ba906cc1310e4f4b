/// How a claim's total is split, in the national platform's settlement fields (PROTOCOL.md
/// "The split" and revision 1.1). All figures in fen, all ≥ 0, `fund = pool + illness + assist`
/// and `total = fund + account + aid + cash`.
public struct Split: Sendable, Equatable, Hashable {
    /// medfee_sumamt: Σ line amounts.
    public let total: Fen
    /// fulamt_ownpay_amt: class C lines plus every over-limit part.
    public let selfpayFull: Fen
    /// preselfpay_amt: class B first self-paid shares.
    public let selfpayFirst: Fen
    /// inscp_scp_amt: `total − selfpayFull − selfpayFirst`.
    public let inscope: Fen
    /// act_pay_dedc: the part of `inscope` that went to the deductible.
    public let deductible: Fen
    /// fund_pay_sumamt: what all funds pay, `pool + illness + assist`.
    public let fund: Fen
    /// acct_pay: what the personal account pays.
    public let account: Fen
    /// psn_cash_pay: what the person pays in cash.
    public let cash: Fen
    /// hifp_pay: the basic fund (RULES.md §4).
    public let pool: Fen
    /// hifmi_pay / hifob_pay: the serious-illness layer (RULES.md §8).
    public let illness: Fen
    /// maf_pay: medical assistance (RULES.md §8).
    public let assist: Fen
    /// acct_mulaid_pay: paid from a relative's account (RULES.md §9).
    public let aid: Fen

    /// A split with every layer named.
    public init(total: Fen, selfpayFull: Fen, selfpayFirst: Fen, inscope: Fen, deductible: Fen,
                pool: Fen, illness: Fen, assist: Fen, account: Fen, aid: Fen, cash: Fen) {
        self.total = total
        self.selfpayFull = selfpayFull
        self.selfpayFirst = selfpayFirst
        self.inscope = inscope
        self.deductible = deductible
        self.pool = pool
        self.illness = illness
        self.assist = assist
        self.fund = pool + illness + assist
        self.account = account
        self.aid = aid
        self.cash = cash
    }

    /// A split where only the basic fund pays (`pool = fund`): pharmacy claims, and figures from
    /// before the layers.
    public init(total: Fen, selfpayFull: Fen, selfpayFirst: Fen, inscope: Fen,
                deductible: Fen, fund: Fen, account: Fen, cash: Fen) {
        self.init(total: total, selfpayFull: selfpayFull, selfpayFirst: selfpayFirst, inscope: inscope, deductible: deductible,
                  pool: fund, illness: 0, assist: 0, account: account, aid: 0, cash: cash)
    }

    /// What the basic fund left of the in-scope amount: the serious-illness layer's measure.
    public var burden: Fen { inscope - pool }

    /// The split as wire fields, in the order PROTOCOL.md prints them, so every reply that carries
    /// a split (PRICE, SETTLE, QUERY, DISCHARGE) spells it identically.
    public var fields: [(String, String)] {
        [
            ("total", String(total)),
            ("selfpay_full", String(selfpayFull)),
            ("selfpay_first", String(selfpayFirst)),
            ("inscope", String(inscope)),
            ("deductible", String(deductible)),
            ("fund", String(fund)),
            ("account", String(account)),
            ("cash", String(cash)),
            ("pool", String(pool)),
            ("illness", String(illness)),
            ("assist", String(assist)),
            ("aid", String(aid)),
        ]
    }

    /// The wire names in order, e.g. for a CSV header or a SQL column list.
    public static let fieldNames = [
        "total", "selfpay_full", "selfpay_first", "inscope", "deductible", "fund", "account", "cash",
        "pool", "illness", "assist", "aid",
    ]
}

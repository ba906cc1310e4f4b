/// How a claim's total is split, in the national platform's settlement fields (PROTOCOL.md
/// "The split"). All figures in fen, all ≥ 0, and `total = fund + account + cash`.
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
    /// fund_pay_sumamt: what the pooled fund pays.
    public let fund: Fen
    /// acct_pay: what the personal account pays.
    public let account: Fen
    /// psn_cash_pay: what the person pays in cash.
    public let cash: Fen

    public init(total: Fen, selfpayFull: Fen, selfpayFirst: Fen, inscope: Fen,
                deductible: Fen, fund: Fen, account: Fen, cash: Fen) {
        self.total = total
        self.selfpayFull = selfpayFull
        self.selfpayFirst = selfpayFirst
        self.inscope = inscope
        self.deductible = deductible
        self.fund = fund
        self.account = account
        self.cash = cash
    }

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
        ]
    }

    /// The wire names in order, e.g. for a CSV header or a SQL column list.
    public static let fieldNames = [
        "total", "selfpay_full", "selfpay_first", "inscope", "deductible", "fund", "account", "cash",
    ]
}

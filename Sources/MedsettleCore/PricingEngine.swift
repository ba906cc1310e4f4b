/// RULES.md §4 as code: a claim's lines in, the split out. Pure and total: bad input is a
/// `PricingError`, never a trap; a broken invariant of the result is a bug and does trap.
public enum Pricing {
    /// The largest unit price accepted, in fen (just under 100 million yuan).
    public static let maxPrice: Fen = 9_999_999_999
    /// The largest quantity accepted, in thousandths.
    public static let maxQuantityMilli: Int64 = 9_999_999_999
    /// The wire limit on lines per request (`TOO_MANY_ITEMS`). Not enforced here: a discharge
    /// prices every fee line of an admission, uploaded over many batches. Within the price and
    /// quantity bounds a line amount is < 10^17 fen and computed exactly (128-bit products), and
    /// sums are overflow-checked, so any number of lines is safe: an absurd total is refused.
    public static let maxLines = 200
    /// The bound on configured money figures (deductibles, ceilings): 10 trillion yuan, far below
    /// Int64's reach so that accumulators can add settlements without overflow checks.
    public static let maxMoney: Fen = 999_999_999_999_999

    /// Prices a claim whose codes are looked up in `catalog`. Unknown codes are reported before
    /// range problems (the first unknown code in line order), since `UNKNOWN_ITEM item=` is the
    /// more useful answer for a terminal.
    public static func price(_ input: PricingInput, catalog: [String: CatalogItem]) -> Result<PricedClaim, PricingError> {
        var classes: [ItemClassification] = []
        classes.reserveCapacity(input.lines.count)
        for line in input.lines {
            guard let item = catalog[line.code] else { return .failure(.unknownItem(code: line.code)) }
            classes.append(item.classification)
        }
        return price(input, classified: classes)
    }

    /// Prices a claim whose lines are already classified: `classified[i]` is line `i`'s (a
    /// discharge prices each fee line as the catalog of its upload day classified it).
    public static func price(_ input: PricingInput, classified: [ItemClassification]) -> Result<PricedClaim, PricingError> {
        precondition(input.deductibleMet >= 0 && input.fundPaidThisYear >= 0 && input.balance >= 0,
                     "accumulators and balances are never negative")
        precondition(classified.count == input.lines.count, "one classification per line")

        var priced: [PricedLine] = []
        priced.reserveCapacity(input.lines.count)
        var total: Fen = 0, selfpayFull: Fen = 0, selfpayFirst: Fen = 0
        for (line, item) in zip(input.lines, classified) {
            guard case .success(let p) = priceLine(line, item) else { return .failure(.amountTooLarge) }
            guard let t = checkedAdd(total, p.amount),
                  let f = checkedAdd(selfpayFull, p.selfpayFull),
                  let s = checkedAdd(selfpayFirst, p.selfpayFirst)
            else { return .failure(.amountTooLarge) }
            total = t; selfpayFull = f; selfpayFirst = s
            priced.append(p)
        }

        // Each line has selfpayFull + selfpayFirst ≤ amount, so these cannot go negative.
        let inscope = total - selfpayFull - selfpayFirst
        let policy = input.policy
        let deductibleLeft = max(0, policy.deductible - input.deductibleMet)
        let deductible = min(inscope, deductibleLeft)
        let ceilingLeft = max(0, policy.annualCeiling - input.fundPaidThisYear)
        // ratio ≤ 10000, so the quotient is ≤ inscope and always fits.
        guard let fundShare = mulDivFloor(inscope - deductible, policy.fundRatioBP, 10_000) else {
            preconditionFailure("fund share exceeds in-scope amount")
        }
        let pool = min(fundShare, ceilingLeft)
        guard let (illness, assist) = layers(burden: inscope - pool, input) else { return .failure(.amountTooLarge) }
        let fund = pool + illness + assist
        let personal = total - fund
        // A resident has no account; their balance is 0 anyway, but say so rather than rely on it.
        let accountAllowed = input.useAccount && policy.insurance.hasAccount
        let accountPayable = personal - (policy.accountPaysFull ? 0 : selfpayFull)
        let account = accountAllowed ? min(accountPayable, input.balance) : 0
        // Family mutual aid (RULES.md §9): the payer's account pays what the person's own would
        // have paid had it held enough (a resident member has none: all of it), never more than
        // the payer holds, and only when the accounts pay at all.
        let aid = input.useAccount ? min(accountPayable - account, input.payerBalance ?? 0) : 0
        let cash = personal - account - aid

        let split = Split(total: total, selfpayFull: selfpayFull, selfpayFirst: selfpayFirst, inscope: inscope,
                          deductible: deductible, pool: pool, illness: illness, assist: assist, account: account, aid: aid, cash: cash)
        let balanceAfter = input.balance - account
        checkInvariants(split, balanceAfter: balanceAfter)
        precondition(aid <= input.payerBalance ?? 0, "aid never takes more than the payer holds")
        return .success(PricedClaim(lines: priced, split: split, balanceAfter: balanceAfter))
    }

    /// The layers after the basic fund (RULES.md §8, §12) for a claim whose basic fund left
    /// `burden` of its in-scope amount: serious illness on the part of the year's burden above
    /// the threshold, then medical assistance on what is left, for a person flagged for it; each
    /// within what its annual ceiling has left (never below 0). Outpatient and inpatient claims
    /// only. Nil when a figure would not fit in 64 bits.
    static func layers(burden: Fen, _ input: PricingInput) -> (illness: Fen, assist: Fen)? {
        guard input.policy.visit != .pharmacy, let benefit = input.benefit else { return (0, 0) }
        let year = input.layerYear
        guard let after = checkedAdd(year.burden, burden) else { return nil }
        let over = max(0, after - benefit.illnessThreshold) - max(0, year.burden - benefit.illnessThreshold)
        guard let illnessShare = mulDivFloor(over, benefit.illnessRatioBP, 10_000) else { return nil }
        let illness = min(illnessShare, max(0, benefit.illnessCeiling - year.illnessPaid))
        guard input.assist else { return (illness, 0) }
        guard let assistShare = mulDivFloor(burden - illness, benefit.assistRatioBP, 10_000) else { return nil }
        return (illness, min(assistShare, max(0, benefit.assistCeiling - year.assistPaid)))
    }

    /// Prices one line against its catalog item (RULES.md §4 "Per line").
    public static func priceLine(_ line: ClaimLine, item: CatalogItem) -> Result<PricedLine, PricingError> {
        priceLine(line, item.classification)
    }

    /// Prices one line as `item` classifies it.
    public static func priceLine(_ line: ClaimLine, _ item: ItemClassification) -> Result<PricedLine, PricingError> {
        let milli = line.quantity.milli
        guard (0...maxPrice).contains(line.price), (1...maxQuantityMilli).contains(milli),
              let amount = amountFor(milli: milli, price: line.price)
        else { return .failure(.amountTooLarge) }

        var full: Fen = 0, first: Fen = 0
        switch item.itemClass {
        case .c:
            full = amount
        case .a, .b:
            var base = amount
            if item.priceLimit > 0 && line.price > item.priceLimit {
                // price > limit ⇒ qty × price > qty × limit ⇒ the rounded figures keep that order,
                // so the over-limit part is ≥ 0 and base = round(qty × limit).
                guard let limited = amountFor(milli: milli, price: item.priceLimit) else {
                    return .failure(.amountTooLarge)
                }
                full = amount - limited
                base = limited
            }
            if item.itemClass == .b {
                // bp ≤ 10000, so the share is ≤ base and always fits.
                guard let share = mulDivRoundHalfUp(base, item.firstSelfPayBP, 10_000) else {
                    preconditionFailure("first self-paid share exceeds its base")
                }
                first = share
            }
        }
        let priced = PricedLine(line: line, itemClass: item.itemClass, amount: amount,
                                selfpayFull: full, selfpayFirst: first)
        precondition(full >= 0 && first >= 0 && priced.inscope >= 0, "line split out of range")
        return .success(priced)
    }

    /// RULES.md §4 "Invariants". These follow from the arithmetic above; a failure is a bug in
    /// this file, and settling money on a wrong split is worse than stopping.
    static func checkInvariants(_ s: Split, balanceAfter: Fen) {
        precondition([s.total, s.selfpayFull, s.selfpayFirst, s.inscope, s.deductible, s.fund, s.account, s.cash, balanceAfter]
            .allSatisfy { $0 >= 0 }, "every figure of a split is ≥ 0")
        precondition([s.pool, s.illness, s.assist, s.aid].allSatisfy { $0 >= 0 }, "every layer is ≥ 0")
        precondition(s.fund == s.pool + s.illness + s.assist, "fund = pool + illness + assist")
        precondition(s.total == s.fund + s.account + s.aid + s.cash, "total = fund + account + aid + cash")
        precondition(s.illness + s.assist <= s.burden, "the layers pay at most the burden")
        precondition(s.inscope == s.total - s.selfpayFull - s.selfpayFirst, "inscope = total − self-paid")
        precondition(s.deductible <= s.inscope && s.pool <= s.inscope - s.deductible, "pool within in-scope")
    }
}

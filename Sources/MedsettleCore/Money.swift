/// Integer rounding for money. Every rule of RULES.md §4 is stated over exact rationals and then
/// rounded to a whole fen, so the engine keeps numerators and denominators as integers and rounds
/// once, here, instead of ever touching floating point.

/// `numerator / denominator` rounded half up to a whole number (`0.5` → `1`, `2.5` → `3`).
///
/// Only defined for a non-negative numerator and a positive denominator: every money figure in
/// the pricing rules is non-negative, and "half up" for negatives is ambiguous (away from zero or
/// towards +∞), so we refuse rather than guess.
///
/// The comparison `r >= d - r` is `2r >= d` written so that it cannot overflow for any `d`.
public func roundHalfUp(_ numerator: Int64, dividedBy denominator: Int64) -> Int64 {
    precondition(numerator >= 0, "roundHalfUp is defined for a non-negative numerator")
    precondition(denominator > 0, "roundHalfUp needs a positive denominator")
    let quotient = numerator / denominator
    let remainder = numerator % denominator
    return remainder >= denominator - remainder ? quotient + 1 : quotient
}

/// `numerator / denominator` rounded towards −∞ (Swift's `/` rounds towards zero).
///
/// The fund's share is a floor (RULES.md §4: the fund never pays a fraction of a fen it did not
/// owe); the denominator must be positive, which also rules out the one overflowing case
/// `Int64.min / -1`.
public func floorDiv(_ numerator: Int64, _ denominator: Int64) -> Int64 {
    precondition(denominator > 0, "floorDiv needs a positive denominator")
    let quotient = numerator / denominator
    return (numerator % denominator != 0 && numerator < 0) ? quotient - 1 : quotient
}

/// `a + b`, or nil when the sum does not fit in an Int64.
///
/// Pricing adds client-supplied amounts; an overflow there must become a refusal of the request,
/// never a trap of the server.
@inlinable
public func checkedAdd(_ a: Int64, _ b: Int64) -> Int64? {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? nil : sum
}

/// `round(a × b / d)`, half up, computed exactly with a 128-bit intermediate product; nil when
/// the result does not fit in an Int64. For non-negative `a`, `b` and a positive `d`.
///
/// The product of two in-range figures (a quantity in thousandths and a price, or an amount and
/// a ratio in basis points) may exceed 64 bits even when the rounded quotient is small, so the
/// product is never formed in an Int64.
public func mulDivRoundHalfUp(_ a: Int64, _ b: Int64, _ d: Int64) -> Int64? {
    guard let division = mulDiv(a, b, d) else { return nil }
    let (quotient, remainder) = division
    // Half up: 2r ≥ d, written so that it cannot overflow.
    let roundsUp = remainder >= UInt64(d) - remainder
    guard quotient < UInt64(Int64.max) || (quotient == UInt64(Int64.max) && !roundsUp) else { return nil }
    return Int64(quotient) + (roundsUp ? 1 : 0)
}

/// `floor(a × b / d)`, exact as `mulDivRoundHalfUp`; nil when the result does not fit.
public func mulDivFloor(_ a: Int64, _ b: Int64, _ d: Int64) -> Int64? {
    guard let quotient = mulDiv(a, b, d)?.quotient else { return nil }
    return quotient <= UInt64(Int64.max) ? Int64(quotient) : nil
}

/// Quotient and remainder of the full-width `a × b` by `d`, or nil when the quotient would need
/// more than 64 bits (then `dividingFullWidth` would trap).
private func mulDiv(_ a: Int64, _ b: Int64, _ d: Int64) -> (quotient: UInt64, remainder: UInt64)? {
    precondition(a >= 0 && b >= 0, "mulDiv is defined for non-negative factors")
    precondition(d > 0, "mulDiv needs a positive divisor")
    let product = UInt64(a).multipliedFullWidth(by: UInt64(b))
    guard product.high < UInt64(d) else { return nil }
    return UInt64(d).dividingFullWidth(product)
}

/// `round(qty × price)` for a quantity held in thousandths: RULES.md §4's line amount, and also
/// `round(qty × limit)` for the over-limit rule. Nil only when the amount itself exceeds Int64.
public func amountFor(milli: Int64, price: Fen) -> Fen? {
    mulDivRoundHalfUp(milli, price, 1000)
}

import MedsettleCore
import PGClient

/// The answer of ADMIT.
public struct Admitted: Sendable, Equatable {
    public let admission: Int64
    public let isRepeat: Bool
}

/// The answer of FEES: the admission's fee lines and their total so far.
public struct FeesAdded: Sendable, Equatable {
    public let lines: Int
    public let total: Fen
    public let isRepeat: Bool
}

/// An admission's row (`admission`).
struct AdmissionRow: PGRowDecodable {
    let id: Int64
    let personID: Int64
    let institution: String
    let open: Bool
    let feeLines: Int
    let feeTotal: Fen

    init(_ row: inout PGRow) {
        id = row("id")
        personID = row("person_id")
        institution = row("institution")
        open = row("open")
        feeLines = row("fee_lines")
        feeTotal = row("fee_total")
    }
}

/// A fee line with the classification the catalog in force on its upload day gave it.
struct FeeLineRow: PGRowDecodable {
    let code: String
    let quantityMilli: Int64
    let price: Fen
    let catalogVersion: Int
    let itemClass: ItemClass
    let priceLimit: Fen
    let firstSelfPayBP: Int64

    init(_ row: inout PGRow) {
        code = row("code")
        quantityMilli = row("qty_milli")
        price = row("price")
        catalogVersion = row("catalog_version")
        itemClass = row("class")
        priceLimit = row("price_limit")
        firstSelfPayBP = row("first_selfpay_bp")
    }

    var line: ClaimLine { ClaimLine(code: code, quantity: Quantity(milli: quantityMilli), price: price) }

    /// The line's classification on its upload day.
    var classification: ItemClassification {
        ItemClassification(itemClass: itemClass, priceLimit: priceLimit, firstSelfPayBP: firstSelfPayBP)
    }
}

extension [FeeLineRow] {
    /// The fee lines as PRICE of an admission prices them: each with its upload day's classification.
    func terms(level: Int, useAccount: Bool) -> ClaimTerms {
        ClaimTerms(lines: map(\.line), visit: .inpatient, level: level, useAccount: useAccount, classified: map(\.classification))
    }

    /// The catalog version a discharge of these lines records: the latest that classified one.
    var catalogVersion: Int? { map(\.catalogVersion).max() }
}

struct AdmissionID: PGRowDecodable {
    let id: Int64
    init(_ row: inout PGRow) { id = row("id") }
}

struct FeeTotals: PGRowDecodable {
    let lines: Int
    let total: Fen
    init(_ row: inout PGRow) {
        lines = row("fee_lines")
        total = row("fee_total")
    }
}

/// A batch of fee lines for `HospitalStaysSQL.addFees`.
struct FeeBatch: Sendable {
    struct Line: Sendable {
        let number: Int
        let line: ClaimLine
        let item: CatalogItem
        let amount: Fen
    }

    let admission: Int64
    let terminal: String
    let trace: String
    let catalogVersion: Int
    let lines: [Line]
    var total: Fen { lines.reduce(0) { $0 + $1.amount } }
}

enum HospitalStaysSQL {
    static let openAdmissions = PGStatement<PGCount, Int64>("open_admissions_of", """
        SELECT count(*) AS count FROM admission WHERE person_id = $1 AND status = 'open'
        """)
    static let admit = PGStatement<AdmissionID, Int64, String, String, String, String, String?>("admit", """
        INSERT INTO admission (person_id, card_no, institution, terminal, trace, ward)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
        """)
    static let admission = PGStatement<AdmissionRow, Int64>("read_admission", """
        SELECT id, person_id, institution, status = 'open' AS open, fee_lines, fee_total FROM admission WHERE id = $1
        """)
    /// Numbers the batch's lines on from the admission's highest line number (withdrawn lines keep
    /// theirs), and adds the batch to the standing lines' count and total.
    static let addFees = PGComposedStatement<FeeTotals, FeeBatch>("add_fees") { sql in
        let admission = sql.value { $0.admission }
        return """
            WITH f AS (
                INSERT INTO admission_fee (admission_id, line_no, code, qty_milli, price, amount, terminal, trace,
                                           catalog_version, class, price_limit, first_selfpay_bp)
                SELECT \(admission), m.last_line + x.n, x.code, x.qty_milli, x.price, x.amount, \(sql.value { $0.terminal }),
                       \(sql.value { $0.trace }), \(sql.value { Int64($0.catalogVersion) })::integer, x.class, x.price_limit,
                       x.first_selfpay_bp
                FROM (SELECT coalesce(max(line_no), 0) AS last_line FROM admission_fee WHERE admission_id = \(admission)) m,
                     \(sql.unnest({ $0.lines }, [
                    .int32("n", { Int64($0.number) }), .text("code", { $0.line.code }), .int64("qty_milli", { $0.line.quantity.milli }),
                    .int64("price", { $0.line.price }), .int64("amount", { $0.amount }), .text("class", { $0.item.itemClass.rawValue }),
                    .int64("price_limit", { $0.item.priceLimit }), .int32("first_selfpay_bp", { $0.item.firstSelfPayBP }),
                ], as: "x"))
            )
            UPDATE admission SET fee_lines = fee_lines + \(sql.value { Int64($0.lines.count) }), fee_total = fee_total + \(sql.value { $0.total })
            WHERE id = \(admission)
            RETURNING fee_lines, fee_total
            """
    }
    /// The admission's standing lines (withdrawn ones are no longer billed).
    static let fees = PGStatement<FeeLineRow, Int64>("admission_fees", """
        SELECT code, qty_milli, price, catalog_version, class, price_limit, first_selfpay_bp
        FROM admission_fee WHERE admission_id = $1 AND withdrawn_by IS NULL ORDER BY line_no
        """)
}

/// Hospital stays (RULES.md §5 "Inpatient"): admission with the card, fee lines uploaded in
/// batches, discharge priced as one claim under the inpatient policy, which closes the admission.
/// Corrections while the stay is open (§11: FEESUNDO, ADMITCANCEL) are in `StayCorrections.swift`.
public struct HospitalStays: Sendable {
    let runner: TransactionRunner
    let decider: ClaimDecider
    let clock: any Clock
    /// Settlement ids, from the block the front's settlement rounds take theirs from.
    let ids: SettlementIDs

    var presenter: CardPresenter { decider.presenter }

    /// The most fee lines one admission holds (a long stay's daily lines fit many times over).
    public static let maxFeeLinesPerAdmission = 5_000

    /// ADMIT (入院登记): opens an admission for the cardholder; one open admission per person.
    public func admit(_ credential: Credential, ward: String?, traced request: TracedRequest, by context: TerminalContext) -> Answer<Admitted> {
        let date = BusinessDate(unixSeconds: clock.now())
        return runner.transaction("ADMIT", traced: request, by: context) { transaction in
            if let record = try transaction.traceRecord(request, by: context) {
                return record.repeatedAnswer(for: request).map { Admitted($0, isRepeat: true) }
            }
            var writes = WriteSet(date: date)
            let holder: Cardholder
            switch try presenter.present(credential, transaction, writes: &writes, by: context) {
            case .failure(let refusal): return try transaction.commit(writes, alone: true, answering: .failure(refusal))
            case .success(let value): holder = value
            }
            if try transaction.query(HospitalStaysSQL.openAdmissions(holder.personID)).first?.count ?? 0 > 0 {
                return try transaction.commit(writes, alone: true, answering: .failure(Refusal(.admissionOpen, "the patient already has an open admission")))
            }
            guard let id = try transaction.query(HospitalStaysSQL.admit(holder.personID, holder.cardNo, context.institution,
                                                                        context.terminal, request.trace, ward)).first?.id else {
                preconditionFailure("an INSERT … RETURNING returns its row")
            }
            let admitted = Admitted(admission: id, isRepeat: false)
            try transaction.recordTrace(request, by: context, answer: admitted.stored)
            writes.useQR(of: holder, by: context, detail: "admission=\(WireID.admission.encode(id))")
            return try transaction.commit(writes, answering: .success(admitted))
        }
    }

    /// FEES (费用明细上传): a batch of fee lines for an open admission of this institution.
    /// Each line is classified by the catalog in force on the upload's business date and keeps
    /// that classification (RULES.md §7).
    public func addFees(admission wireID: String, lines: [ClaimLine], traced request: TracedRequest, by context: TerminalContext) -> Answer<FeesAdded> {
        let date = BusinessDate(unixSeconds: clock.now())
        return runner.transaction("FEES", traced: request, by: context) { transaction in
            if let record = try transaction.traceRecord(request, by: context) {
                return record.repeatedAnswer(for: request).map { FeesAdded($0, isRepeat: true) }
            }
            let reference: ReferenceData
            switch decider.reference(on: date) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let data): reference = data
            }
            if let unknown = lines.first(where: { reference.catalog[$0.code] == nil }) { return .failure(.unknownItem(unknown.code)) }
            let admission: AdmissionRow
            switch try lockAdmission(wireID, transaction, by: context) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let value): admission = value.admission
            }
            guard admission.open else { return .failure(.admissionClosed) }
            guard admission.feeLines + lines.count <= Self.maxFeeLinesPerAdmission else {
                return .failure(Refusal(.tooManyItems, "an admission holds at most \(Self.maxFeeLinesPerAdmission) fee lines"))
            }
            var batch: [FeeBatch.Line] = []
            for (index, line) in lines.enumerated() {
                guard let item = reference.catalog[line.code], case .success(let priced) = Pricing.priceLine(line, item: item) else {
                    return .failure(Refusal(.badRequest, "fee line amounts are out of range"))
                }
                batch.append(FeeBatch.Line(number: index + 1, line: line, item: item, amount: priced.amount))
            }
            let fees = FeeBatch(admission: admission.id, terminal: context.terminal, trace: request.trace, catalogVersion: reference.catalogVersion, lines: batch)
            guard let totals = try transaction.query(HospitalStaysSQL.addFees(fees)).first else {
                preconditionFailure("an UPDATE … RETURNING of a locked admission returns its row")
            }
            let added = FeesAdded(lines: totals.lines, total: totals.total, isRepeat: false)
            try transaction.recordTrace(request, by: context, answer: added.stored)
            return try transaction.commit(answering: .success(added))
        }
    }

    /// PRICE admission=: prices the admission's fee lines as a discharge now would.
    public func priceAdmission(_ wireID: String, by context: TerminalContext) -> Answer<Split> {
        let date = BusinessDate(unixSeconds: clock.now())
        return runner.transaction("PRICE") { transaction in
            let admission: AdmissionRow
            let patient: HolderRow
            switch try lockAdmission(wireID, transaction, by: context) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let value): (admission, patient) = (value.admission, value.patient)
            }
            guard admission.open else { return .failure(.admissionClosed) }
            let (fees, accumulators, payers) = try transaction.pipeline(HospitalStaysSQL.fees(admission.id),
                                                                        AccumulatorSQL.ofPerson(patient.id, Int64(date.year)),
                                                                        FamilySQL.payerOf(patient.id))
            guard !fees.isEmpty else { return .failure(.noStandingFees) }
            let year = YearAccumulators(accumulators)
            // A quote: the payer's balance of the moment, unlocked (RULES.md §9).
            let payer = payers.first.flatMap { $0.paysForMembers ? $0 : nil }
            let claimant = ClaimantState(card: nil, insurance: patient.insurance, balance: patient.hasAccount ? patient.balance : 0,
                                         year: year[patient.id, .inpatient], layerYear: year.layers(of: patient.id), assist: patient.assist,
                                         payerBalance: payer?.balance)
            return decider.reference(on: date).flatMap { reference in
                ClaimDecision.price(fees.terms(level: context.level, useAccount: true), for: claimant, reference: reference)
                    .map(\.split).mapError { Refusal.claim($0, presentation: nil) }
            }
        }
    }

    /// DISCHARGE (出院结算): all standing fee lines as one claim under the inpatient policy; closes the admission.
    public func discharge(admission wireID: String, credential: Credential, useAccount: Bool,
                          traced request: TracedRequest, by context: TerminalContext) -> Answer<Settled> {
        let now = clock.now()
        let date = BusinessDate(unixSeconds: now)
        let member = ClaimMember(claim: ClaimRequest(credential: credential, lines: [], visit: .inpatient, useAccount: useAccount),
                                 context: context, now: now, tokens: presenter.qrTokens)
        return runner.transaction("DISCHARGE", traced: request, by: context) { transaction in
            if let record = try transaction.traceRecord(request, by: context) {
                return record.repeatedSettlement(for: request)
            }
            guard let id = WireID.admission.decode(wireID), let found = try transaction.query(HospitalStaysSQL.admission(id)).first else {
                return .failure(.noSuchAdmission)
            }
            guard found.institution == context.institution else { return .failure(.otherInstitutionsAdmission) }
            // Lock the holder, then read the card, the admission again, its fees and the year.
            let cards = PGArray(member.cardNo.map { [$0] } ?? [])
            let draw = ids.draw(1)
            let (holders, claimants, admissions, fees, used, allocated) = try transaction.pipeline(
                CardholderSQL.lockClaimants(cards), CardholderSQL.readClaimants(cards, Int64(date.year)),
                HospitalStaysSQL.admission(id), HospitalStaysSQL.fees(id), CardholderSQL.qrUsed(tokens: member.tokens), draw.query)
            // Taken before the decision: a refused discharge leaves the new block's other ids to later ones.
            let settlement = draw.ids(from: allocated)[0]
            let rows = ClaimRows(holders, claimants, used)
            let claim = ClaimMember(claim: ClaimRequest(credential: credential, lines: fees.map(\.line), visit: .inpatient,
                                                        useAccount: useAccount, classified: fees.map(\.classification)),
                                    resolved: member)
            // Checked once the card is accepted (a wrong PIN counts whatever else is wrong).
            let admissible = { (holder: Cardholder) -> ClaimRefusal? in
                guard holder.personID == found.personID else { return .inadmissible(.badRequest, "the card is not the admitted patient's") }
                guard admissions.first?.open == true else { return .inadmissible(.admissionClosed, "the admission is closed") }
                guard !fees.isEmpty else { return .inadmissible(Refusal.noStandingFees.code, Refusal.noStandingFees.message) }
                return nil
            }
            var writes = WriteSet(date: date)
            switch decider.decide(claim, rows, writes: &writes, catalogVersion: fees.catalogVersion, admissible: admissible) {
            case .failure(let refusal):
                return try transaction.commit(writes, alone: true, answering: .failure(refusal))
            case .success(let priced):
                guard let admission = admissions.first else { preconditionFailure("an admissible discharge has its admission") }
                writes.settle(id: settlement, priced, visit: .inpatient, traced: request,
                              admission: admission.id, by: context, qrDetail: "settlement=\(WireID.settlement.encode(settlement))")
                let record = SettlementRecord(id: settlement, split: priced.claim.split, balanceAfter: priced.claim.balanceAfter, state: .settled)
                return try transaction.commit(writes, alone: true, answering: .success(Settled(settlement: record, isRepeat: false)))
            }
        }
    }

    /// Finds the admission, checks it is this institution's, and locks its patient; the admission
    /// as read under that lock, and the patient.
    func lockAdmission(_ wireID: String, _ transaction: borrowing PGTransaction,
                               by context: TerminalContext) throws -> Answer<(admission: AdmissionRow, patient: HolderRow)> {
        guard let id = WireID.admission.decode(wireID), let found = try transaction.query(HospitalStaysSQL.admission(id)).first else {
            return .failure(.noSuchAdmission)
        }
        guard found.institution == context.institution else { return .failure(.otherInstitutionsAdmission) }
        let (patients, admissions) = try transaction.pipeline(CardholderSQL.lockPerson(found.personID), HospitalStaysSQL.admission(id))
        guard let patient = patients.first, let admission = admissions.first else { preconditionFailure("an admission keeps its patient") }
        return .success((admission, patient))
    }
}

extension Admitted {
    init(_ stored: StoredAnswer, isRepeat: Bool) {
        guard let id = WireID.admission.decode(stored["admission"]) else { preconditionFailure("a stored admission id") }
        self.init(admission: id, isRepeat: isRepeat)
    }

    var stored: StoredAnswer { StoredAnswer([("admission", WireID.admission.encode(admission))]) }
}

extension FeesAdded {
    init(_ stored: StoredAnswer, isRepeat: Bool) {
        self.init(lines: Int(stored.int64("lines")), total: stored.int64("total"), isRepeat: isRepeat)
    }

    var stored: StoredAnswer { StoredAnswer([("lines", String(lines)), ("total", String(total))]) }
}

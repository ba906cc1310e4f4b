import MedsettleCore
import PGClient

/// Hospital stays (RULES.md §5 "Inpatient"): admission with the card, fee lines uploaded in
/// batches, discharge priced as one claim under the inpatient policy, which closes the admission.
enum InpatientSQL {
    static let openAdmissionOf = PGStatement("open_admission_of", """
        SELECT 1 FROM admission WHERE person_id = $1 AND status = 'open'
        """)
    static let admit = PGStatement("admit", """
        INSERT INTO admission (person_id, card_no, institution, terminal, trace, ward)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
        """)
    static let admission = PGStatement("read_admission", """
        SELECT person_id, institution, status, fee_lines, fee_total FROM admission WHERE id = $1
        """)
    static let addFees = PGStatement("add_fees", """
        WITH f AS (
            INSERT INTO admission_fee (admission_id, line_no, code, qty_milli, price, amount, trace)
            SELECT $1, $2 + x.n, x.code, x.qty_milli, x.price, x.amount, $3
            FROM unnest($4::integer[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])
                 AS x(n, code, qty_milli, price, amount)
        )
        UPDATE admission SET fee_lines = fee_lines + $9, fee_total = fee_total + $10 WHERE id = $1
        RETURNING fee_lines, fee_total
        """)
    static let fees = PGStatement("admission_fees", """
        SELECT code, qty_milli, price FROM admission_fee WHERE admission_id = $1 ORDER BY line_no
        """)
}

/// An admission as the inpatient verbs need it.
struct AdmissionRecord {
    let id: Int64
    let personID: Int64
    let institution: String
    let open: Bool
    let feeLines: Int
    let feeTotal: Fen
}

extension Store {
    /// The most fee lines one admission holds (a long stay's daily lines fit many times over).
    public static let maxFeeLinesPerAdmission = 5_000

    /// ADMIT (入院登记): opens an admission for the cardholder; one open admission per person.
    public func admit(_ credential: Credential, ward: String?, traced request: TracedRequest, by context: TerminalContext) -> Outcome {
        perform("ADMIT", traced: true) { connection in
            try connection.transaction {
                if let prior = try priorOutcome(connection, request, by: context) { return prior }
                let holder: Cardholder
                switch try present(connection, credential, by: context) {
                case .failure(let outcome): return outcome
                case .success(let value): holder = value
                }
                if try connection.query(InpatientSQL.openAdmissionOf, [holder.personID]).rowCount > 0 {
                    return .refused(.admissionOpen, "the patient already has an open admission")
                }
                let id = try connection.query(InpatientSQL.admit, [
                    holder.personID, holder.cardNo, context.institution, context.terminal, request.trace, ward,
                ]).requireInt64(0, 0)
                let reply = [("admission", WireID.admission.encode(id))]
                try recordTrace(connection, request, by: context, reply: reply)
                var writes = WriteSet()
                writes.useQR(of: holder, by: context, detail: "admission=\(WireID.admission.encode(id))")
                try writes.write(connection, date: businessDate())
                return .ok(reply)
            }
        }
    }

    /// FEES (费用明细上传): a batch of fee lines for an open admission of this institution.
    public func addFees(admission wireID: String, lines: [ClaimLine], traced request: TracedRequest, by context: TerminalContext) -> Outcome {
        if let refusal = checkLines(lines) { return refusal }
        return perform("FEES", traced: true) { connection in
            try connection.transaction {
                if let prior = try priorOutcome(connection, request, by: context) { return prior }
                let admission: AdmissionRecord
                switch try lockAdmission(connection, wireID, by: context) {
                case .failure(let outcome): return outcome
                case .success(let value): admission = value.0
                }
                guard admission.open else { return .refused(.admissionClosed, "the admission is closed") }
                guard admission.feeLines + lines.count <= Self.maxFeeLinesPerAdmission else {
                    return .refused(.tooManyItems, "an admission holds at most \(Self.maxFeeLinesPerAdmission) fee lines")
                }
                var amounts: [Fen] = []
                for line in lines {
                    guard let item = reference.catalog[line.code], case .success(let priced) = Pricing.priceLine(line, item: item) else {
                        return .refused(.badRequest, "fee line amounts are out of range")
                    }
                    amounts.append(priced.amount)
                }
                let batchTotal = amounts.reduce(0, +)
                let result = try connection.query(InpatientSQL.addFees, [
                    admission.id, admission.feeLines, request.trace,
                    PGArray(lines.indices.map { Int64($0 + 1) }), PGArray(lines.map(\.code)),
                    PGArray(lines.map(\.quantity.milli)), PGArray(lines.map(\.price)), PGArray(amounts),
                    lines.count, batchTotal,
                ])
                let reply = [("lines", String(try result.requireInt64(0, 0))), ("total", String(try result.requireInt64(0, 1)))]
                try recordTrace(connection, request, by: context, reply: reply)
                return .ok(reply)
            }
        }
    }

    /// PRICE admission=: prices the admission's fee lines as a discharge now would.
    public func priceAdmission(_ wireID: String, by context: TerminalContext) -> Outcome {
        perform("PRICE") { connection in
            try connection.transaction {
                let admission: AdmissionRecord
                let person: PGResult
                switch try lockAdmission(connection, wireID, by: context) {
                case .failure(let outcome): return outcome
                case .success(let value): (admission, person) = value
                }
                guard admission.open else { return .refused(.admissionClosed, "the admission is closed") }
                guard let insurance = InsuranceType(rawValue: try person.requireString(0, 0)) else {
                    throw PGError(kind: .decoding, message: "unknown insurance type")
                }
                let balance = try person.requireBool(0, 1) ? try person.requireInt64(0, 2) : 0
                switch try priceDischarge(connection, admission, insurance: insurance, balance: balance, useAccount: true, by: context) {
                case .failure(let outcome): return outcome
                case .success(let priced): return .ok(priced.split.fields)
                }
            }
        }
    }

    /// DISCHARGE (出院结算): all fee lines as one claim under the inpatient policy; closes the admission.
    public func discharge(admission wireID: String, credential: Credential, useAccount: Bool,
                          traced request: TracedRequest, by context: TerminalContext) -> Outcome {
        perform("DISCHARGE", traced: true) { connection in
            try connection.transaction {
                if let prior = try priorOutcome(connection, request, by: context) { return prior }
                guard let id = WireID.admission.decode(wireID),
                      let found = try readAdmission(connection, id: id) else { return .refused(.notFound, "no such admission") }
                guard found.institution == context.institution else {
                    return .refused(.forbidden, "the admission belongs to another institution")
                }
                let holder: Cardholder
                switch try present(connection, credential, by: context) {
                case .failure(let outcome): return outcome
                case .success(let value): holder = value
                }
                guard holder.personID == found.personID else {
                    return .refused(.badRequest, "the card is not the admitted patient's")
                }
                // Read again under the patient's lock.
                guard let admission = try readAdmission(connection, id: id), admission.open else {
                    return .refused(.admissionClosed, "the admission is closed")
                }
                let priced: PricedClaim
                switch try priceDischarge(connection, admission, insurance: holder.insurance,
                                          balance: holder.hasAccount ? holder.balance : 0, useAccount: useAccount, by: context) {
                case .failure(let outcome): return outcome
                case .success(let value): priced = value
                }
                let settlement = try connection.query(WriteSetSQL.allocateIDs, [1]).requireInt64(0, 0)
                var writes = WriteSet()
                writes.settle(id: settlement, priced, holder: holder, visit: .inpatient, traced: request, admission: admission.id,
                              by: context, qrDetail: "settlement=\(WireID.settlement.encode(settlement))")
                try writes.write(connection, date: businessDate())
                return .ok(SettlementRecord(id: settlement, split: priced.split, balanceAfter: priced.balanceAfter,
                                            state: "settled").replyFields)
            }
        }
    }

    /// The admission's fee lines priced under the inpatient policy: the deductible counts within
    /// this admission only (none of it is met while it is open), the ceiling per calendar year.
    private func priceDischarge(_ connection: PGConnection, _ admission: AdmissionRecord, insurance: InsuranceType,
                                balance: Fen, useAccount: Bool, by context: TerminalContext) throws -> Result<PricedClaim, Outcome> {
        guard admission.feeLines > 0 else { return .failure(.refused(.badRequest, "the admission has no fee lines")) }
        guard let policy = reference.policy(for: insurance, visit: .inpatient, level: context.level) else {
            return .failure(.refused(.internal, "no inpatient policy for this hospital"))
        }
        let rows = try connection.query(InpatientSQL.fees, [admission.id])
        let lines = try (0..<rows.rowCount).map { row in
            ClaimLine(code: try rows.requireString(row, 0), quantity: Quantity(milli: try rows.requireInt64(row, 1)),
                      price: try rows.requireInt64(row, 2))
        }
        let acc = try connection.query(SettlementSQL.readAccumulator, [admission.personID, businessDate().year, VisitType.inpatient.rawValue])
        let fundPaid: Fen = acc.rowCount == 1 ? try acc.requireInt64(0, 1) : 0
        let input = PricingInput(lines: lines, policy: policy, deductibleMet: 0, fundPaidThisYear: fundPaid,
                                 balance: balance, useAccount: useAccount)
        switch Pricing.price(input, catalog: reference.catalog) {
        case .success(let priced): return .success(priced)
        case .failure(let error): return .failure(.refused(error.errorCode, "the stay's amounts are out of range"))
        }
    }

    /// Finds the admission, checks it is this institution's, and locks its patient; returns the
    /// admission as read under that lock and the patient's row (insurance, has_account, balance).
    private func lockAdmission(_ connection: PGConnection, _ wireID: String, by context: TerminalContext) throws -> Result<(AdmissionRecord, PGResult), Outcome> {
        guard let id = WireID.admission.decode(wireID), let found = try readAdmission(connection, id: id) else {
            return .failure(.refused(.notFound, "no such admission"))
        }
        guard found.institution == context.institution else {
            return .failure(.refused(.forbidden, "the admission belongs to another institution"))
        }
        let patient = try connection.query(UndoSQL.lockPerson, [found.personID])
        guard let admission = try readAdmission(connection, id: id) else { return .failure(.refused(.notFound, "no such admission")) }
        return .success((admission, patient))
    }

    private func readAdmission(_ connection: PGConnection, id: Int64) throws -> AdmissionRecord? {
        let row = try connection.query(InpatientSQL.admission, [id])
        guard row.rowCount == 1 else { return nil }
        return AdmissionRecord(id: id, personID: try row.requireInt64(0, 0), institution: try row.requireString(0, 1),
                               open: try row.requireString(0, 2) == "open", feeLines: try row.requireInt(0, 3),
                               feeTotal: try row.requireInt64(0, 4))
    }
}

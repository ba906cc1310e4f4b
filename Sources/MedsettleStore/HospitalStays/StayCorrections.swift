import MedsettleCore
import PGClient

/// The answer of FEESUNDO: the admission's standing fee lines and their total after the withdrawal.
public struct FeesWithdrawn: Sendable, Equatable {
    public let lines: Int
    public let total: Fen
    public let isRepeat: Bool
}

/// The answer of ADMITCANCEL.
public struct AdmissionCancelled: Sendable, Equatable {
    public let admission: Int64
    public let isRepeat: Bool
}

/// One upload's lines in an admission: how many, and how many of them are withdrawn.
struct UploadLines: PGRowDecodable {
    let lines: Int64
    let withdrawn: Int64
    init(_ row: inout PGRow) {
        lines = row("lines")
        withdrawn = row("withdrawn")
    }
}

enum StayCorrectionsSQL {
    /// The lines one FEES request (terminal, trace) uploaded to the admission.
    static let upload = PGStatement<UploadLines, Int64, String, String>("fee_upload_lines", """
        SELECT count(*) AS lines, count(withdrawn_by) AS withdrawn
        FROM admission_fee WHERE admission_id = $1 AND terminal = $2 AND trace = $3
        """)
    /// Marks the upload's standing lines withdrawn by the FEESUNDO trace `$4` and takes them out of
    /// the admission's standing count and total.
    static let withdraw = PGStatement<FeeTotals, Int64, String, String, String>("withdraw_fee_upload", """
        WITH w AS (
            UPDATE admission_fee SET withdrawn_by = $4, withdrawn_at = now()
            WHERE admission_id = $1 AND terminal = $2 AND trace = $3 AND withdrawn_by IS NULL
            RETURNING amount
        )
        UPDATE admission SET fee_lines = fee_lines - (SELECT count(*) FROM w)::integer,
                             fee_total = fee_total - (SELECT coalesce(sum(amount), 0) FROM w)::bigint
        WHERE id = $1
        RETURNING fee_lines, fee_total
        """)
    static let cancel = PGStatement<PGNoRows, Int64>("cancel_admission", """
        UPDATE admission SET status = 'cancelled', closed_at = now() WHERE id = $1 AND status = 'open'
        """)
}

extension Refusal {
    static let noStandingFees = Refusal(.badState, "the admission has no standing fee lines; cancel the admission instead")
    static let noSuchUpload = Refusal(.notFound, "no FEES request of this terminal under that trace for this admission")
    static let uploadWithdrawn = Refusal(.alreadyCancelled, "the lines of that FEES request are already withdrawn")
    static let admissionHasFees = Refusal(.badState, "the admission has standing fee lines; withdraw them first")
}

/// Corrections during a hospital stay (RULES.md §11): withdrawing one upload's fee lines
/// (明细撤销) and cancelling an admission that bills nothing (入院撤销). Both lock the patient like
/// every admission verb, so they serialise with FEES, PRICE of the admission and DISCHARGE.
extension HospitalStays {
    /// FEESUNDO: withdraws every line the FEES request `of` (of this terminal) added to the
    /// admission. Refusals in RULES.md §12's order: unknown admission, another institution's,
    /// closed or cancelled, no such upload, already withdrawn.
    public func withdrawFees(admission wireID: String, of upload: String, traced request: TracedRequest,
                             by context: TerminalContext) -> Answer<FeesWithdrawn> {
        runner.transaction("FEESUNDO", traced: request, by: context) { transaction in
            if let record = try transaction.traceRecord(request, by: context) {
                return record.repeatedAnswer(for: request).map { FeesWithdrawn($0, isRepeat: true) }
            }
            let admission: AdmissionRow
            switch try lockAdmission(wireID, transaction, by: context) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let value): admission = value.admission
            }
            guard admission.open else { return .failure(.admissionClosed) }
            guard let lines = try transaction.query(StayCorrectionsSQL.upload(admission.id, context.terminal, upload)).first,
                  lines.lines > 0 else { return .failure(.noSuchUpload) }
            guard lines.withdrawn < lines.lines else { return .failure(.uploadWithdrawn) }
            guard let totals = try transaction.query(StayCorrectionsSQL.withdraw(admission.id, context.terminal, upload, request.trace)).first else {
                preconditionFailure("an UPDATE … RETURNING of a locked admission returns its row")
            }
            let withdrawn = FeesWithdrawn(lines: totals.lines, total: totals.total, isRepeat: false)
            try transaction.recordTrace(request, by: context, answer: withdrawn.stored)
            return try transaction.commit(answering: .success(withdrawn))
        }
    }

    /// ADMITCANCEL: an open admission with no standing fee lines becomes `cancelled`; the patient
    /// may be admitted again.
    public func cancelAdmission(_ wireID: String, traced request: TracedRequest, by context: TerminalContext) -> Answer<AdmissionCancelled> {
        runner.transaction("ADMITCANCEL", traced: request, by: context) { transaction in
            if let record = try transaction.traceRecord(request, by: context) {
                return record.repeatedAnswer(for: request).map { AdmissionCancelled($0, isRepeat: true) }
            }
            let admission: AdmissionRow
            switch try lockAdmission(wireID, transaction, by: context) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let value): admission = value.admission
            }
            guard admission.open else { return .failure(.admissionClosed) }
            guard admission.feeLines == 0 else { return .failure(.admissionHasFees) }
            _ = try transaction.query(StayCorrectionsSQL.cancel(admission.id))
            let cancelled = AdmissionCancelled(admission: admission.id, isRepeat: false)
            try transaction.recordTrace(request, by: context, answer: cancelled.stored)
            return try transaction.commit(answering: .success(cancelled))
        }
    }
}

extension FeesWithdrawn {
    init(_ stored: StoredAnswer, isRepeat: Bool) {
        self.init(lines: Int(stored.int64("lines")), total: stored.int64("total"), isRepeat: isRepeat)
    }

    var stored: StoredAnswer { StoredAnswer([("lines", String(lines)), ("total", String(total))]) }
}

extension AdmissionCancelled {
    init(_ stored: StoredAnswer, isRepeat: Bool) {
        guard let id = WireID.admission.decode(stored["admission"]) else { preconditionFailure("a stored admission id") }
        self.init(admission: id, isRepeat: isRepeat)
    }

    var stored: StoredAnswer { StoredAnswer([("admission", WireID.admission.encode(admission))]) }
}

import MedsettleCore
import PGClient

/// The answer of FAMILYBIND and FAMILYUNBIND: the pair, by ID number.
public struct FamilyPair: Sendable, Equatable {
    public let payer: String
    public let member: String
}

/// A binding's row as the bind decisions read it.
struct BindingRow: PGRowDecodable {
    let binding: StandingBinding

    init(_ row: inout PGRow) {
        binding = StandingBinding(id: row("id"), payer: row("payer_id"), member: row("member_id"), relation: row("relation"))
    }
}

enum FamilySQL {
    /// Both persons of a pair, locked in person-id order (as every transaction that locks several
    /// persons does, so none deadlock).
    static let lockPair = PGStatement<HolderRow, PGArray<String>>("lock_family_pair", """
        SELECT id, id_no, name, insurance, has_account, balance, insured, assist FROM person
        WHERE id_no = ANY($1::text[]) ORDER BY id FOR UPDATE
        """)
    /// The standing bindings of a payer (as payer) and of a member (as member).
    static let standing = PGStatement<BindingRow, Int64, Int64>("family_standing", """
        SELECT id, payer_id, member_id, relation FROM family_binding
        WHERE ended_at IS NULL AND (payer_id = $1 OR member_id = $2)
        """)
    static let insert = PGStatement<PGNoRows, Int64, Int64, String, String, String?>("family_bind", """
        INSERT INTO family_binding (payer_id, member_id, relation, terminal, agent_id) VALUES ($1, $2, $3, $4, $5)
        """)
    static let relate = PGStatement<PGNoRows, Int64, String>("family_relation", """
        UPDATE family_binding SET relation = $2 WHERE id = $1
        """)
    static let end = PGStatement<PGNoRows, Int64>("family_unbind", """
        UPDATE family_binding SET ended_at = now(), ended_by = 'unbound' WHERE id = $1 AND ended_at IS NULL
        """)
    /// Ends the bindings in which a person whose insurance ends (row locked) is the payer
    /// (RULES.md §9; a member's own end of insurance does not end its binding), and names each
    /// member with its latest card, for the member's history.
    static let endAsPayer = PGStatement<EndedMember, Int64>("family_end_insurance", """
        WITH ended AS (
            UPDATE family_binding SET ended_at = now(), ended_by = 'insurance_ended'
            WHERE payer_id = $1 AND ended_at IS NULL
            RETURNING member_id, relation
        )
        SELECT e.member_id, e.relation,
               (SELECT c.card_no FROM card c WHERE c.person_id = e.member_id
                ORDER BY c.issued_at DESC, c.card_no DESC LIMIT 1) AS card_no
        FROM ended e ORDER BY e.member_id
        """)

    /// A person's standing payer's row, unlocked: PRICE of an admission quotes from the balances
    /// of the moment and moves nothing.
    static let payerOf = PGStatement<HolderRow, Int64>("family_payer_of", """
        SELECT p.id, p.id_no, p.name, p.insurance, p.has_account, p.balance, p.insured, p.assist
        FROM family_binding b JOIN person p ON p.id = b.payer_id
        WHERE b.member_id = $1 AND b.ended_at IS NULL
        """)
}

/// A member whose binding ended with the payer's insurance.
struct EndedMember: PGRowDecodable {
    let member: Int64
    let relation: String
    let cardNo: String?
    init(_ row: inout PGRow) {
        member = row("member_id")
        relation = row("relation")
        cardNo = row("card_no")
    }
}

extension HolderRow {
    /// Whether this person's account may pay for a member now: it is open (RULES.md §9).
    var paysForMembers: Bool { hasAccount && insured }

    var family: FamilyPerson { FamilyPerson(id: id, hasAccount: hasAccount, insured: insured) }
}

/// Family mutual aid's bindings (RULES.md §9): FAMILYBIND and FAMILYUNBIND, from the window or
/// the agency, each with both persons locked and recorded in both persons' card history.
public struct Families: Sendable {
    let runner: TransactionRunner
    let clock: any Clock

    /// FAMILYBIND (家庭共济绑定): `member`'s care may be paid from `payer`'s account. The same pair
    /// again answers OK (a different relation replaces the recorded one).
    public func bind(payer payerIDNo: String, member memberIDNo: String, relation: FamilyRelation, agent: String?,
                     by context: TerminalContext) -> Answer<FamilyPair> {
        precondition(payerIDNo != memberIDNo, "the caller refuses a member equal to the payer")
        let date = BusinessDate(unixSeconds: clock.now())
        let pair = FamilyPair(payer: payerIDNo, member: memberIDNo)
        return runner.transaction("FAMILYBIND") { transaction in
            guard let (payer, member) = try lockPair(pair, transaction) else { return .failure(.noSuchPerson) }
            let standing = try transaction.query(FamilySQL.standing(payer.id, member.id)).map(\.binding)
            let action = FamilyRules.bind(payer: payer.family, member: member.family, relation: relation,
                                          memberBinding: standing.first { $0.member == member.id },
                                          payerMembers: standing.count(where: { $0.payer == payer.id }))
            let detail: String
            switch action {
            case .refuse(let code, let message):
                return .failure(Refusal(code, message))
            case .alreadyBound(_, relationChanged: false):
                return .success(pair)
            case .alreadyBound(let binding, relationChanged: true):
                _ = try transaction.query(FamilySQL.relate(binding.id, relation.rawValue))
                detail = "relation=\(relation.rawValue) (was \(binding.relation.rawValue))"
            case .bind:
                _ = try transaction.query(FamilySQL.insert(payer.id, member.id, relation.rawValue, context.terminal, agent))
                detail = "relation=\(relation.rawValue)"
            }
            var writes = WriteSet(date: date)
            try record(.familyBound, pair, payer: payer, member: member, detail: detail, agent: agent, by: context,
                       transaction, into: &writes)
            return try transaction.commit(writes, answering: .success(pair))
        }
    }

    /// FAMILYUNBIND: ends the pair's standing binding (`NOT_FOUND` when there is none).
    public func unbind(payer payerIDNo: String, member memberIDNo: String, agent: String?,
                       by context: TerminalContext) -> Answer<FamilyPair> {
        precondition(payerIDNo != memberIDNo, "the caller refuses a member equal to the payer")
        let date = BusinessDate(unixSeconds: clock.now())
        let pair = FamilyPair(payer: payerIDNo, member: memberIDNo)
        return runner.transaction("FAMILYUNBIND") { transaction in
            guard let (payer, member) = try lockPair(pair, transaction) else { return .failure(.noSuchPerson) }
            let standing = try transaction.query(FamilySQL.standing(payer.id, member.id)).map(\.binding)
            guard case .success(let binding) = FamilyRules.unbind(payer: payer.family, memberBinding: standing.first { $0.member == member.id }) else {
                return .failure(Refusal(.notFound, "the member is not bound to this payer"))
            }
            _ = try transaction.query(FamilySQL.end(binding.id))
            var writes = WriteSet(date: date)
            try record(.familyUnbound, pair, payer: payer, member: member, detail: "relation=\(binding.relation.rawValue)",
                       agent: agent, by: context, transaction, into: &writes)
            return try transaction.commit(writes, answering: .success(pair))
        }
    }

    /// Locks both persons; nil when either ID number names nobody.
    private func lockPair(_ pair: FamilyPair, _ transaction: borrowing PGTransaction) throws -> (payer: HolderRow, member: HolderRow)? {
        let rows = try transaction.query(FamilySQL.lockPair(PGArray([pair.payer, pair.member])))
        guard let payer = rows.first(where: { $0.idNo == pair.payer }), let member = rows.first(where: { $0.idNo == pair.member }) else {
            return nil
        }
        return (payer, member)
    }

    /// The change in both persons' history, each under their latest card.
    private func record(_ kind: CardEventKind, _ pair: FamilyPair, payer: HolderRow, member: HolderRow, detail: String,
                        agent: String?, by context: TerminalContext, _ transaction: borrowing PGTransaction,
                        into writes: inout WriteSet) throws {
        let (payerCard, memberCard) = try transaction.pipeline(CardDeskSQL.latestCard(payer.id), CardDeskSQL.latestCard(member.id))
        writes.event(kind, cardNo: payerCard.first?.cardNo, personID: payer.id, by: context, agent: agent,
                     detail: "member=\(pair.member) \(detail)")
        writes.event(kind, cardNo: memberCard.first?.cardNo, personID: member.id, by: context, agent: agent,
                     detail: "payer=\(pair.payer) \(detail)")
    }
}

/// A member's relation to the payer whose account pays for them (RULES.md §9: close relatives).
public enum FamilyRelation: String, Sendable, CaseIterable {
    case spouse, parent, child
}

/// What the bind and unbind decisions read of one person, with their row locked.
public struct FamilyPerson: Sendable, Equatable {
    public let id: Int64
    /// An employee's or retiree's account: residents have none.
    public let hasAccount: Bool
    /// False once the insurance has ended (the card cancelled).
    public let insured: Bool

    public init(id: Int64, hasAccount: Bool, insured: Bool) {
        self.id = id
        self.hasAccount = hasAccount
        self.insured = insured
    }
}

/// A binding that stands (not ended).
public struct StandingBinding: Sendable, Equatable {
    public let id: Int64
    public let payer: Int64
    public let member: Int64
    public let relation: FamilyRelation

    public init(id: Int64, payer: Int64, member: Int64, relation: FamilyRelation) {
        self.id = id
        self.payer = payer
        self.member = member
        self.relation = relation
    }
}

/// Family mutual aid's bindings (RULES.md §9, §12 "FAMILYBIND precedence"), decided from the rows
/// read with both persons locked. The refusals before these (an ID number that is not one, a
/// member equal to the payer, nobody with the number) are the caller's.
public enum FamilyRules {
    /// A payer's standing members at most.
    public static let maxMembers = 10

    /// What FAMILYBIND does.
    public enum BindAction: Sendable, Equatable {
        /// A new binding.
        case bind
        /// The pair is bound already: OK again, with the relation replaced when it differs.
        case alreadyBound(StandingBinding, relationChanged: Bool)
        case refuse(ErrorCode, String)
    }

    /// - Parameters:
    ///   - memberBinding: the member's standing binding, to whichever payer.
    ///   - payerMembers: how many members the payer has standing.
    public static func bind(payer: FamilyPerson, member: FamilyPerson, relation: FamilyRelation,
                            memberBinding: StandingBinding?, payerMembers: Int) -> BindAction {
        precondition(payer.id != member.id, "the caller refuses a member equal to the payer")
        guard payer.hasAccount, payer.insured else {
            return .refuse(.noAccount, "the payer has no personal account (a resident, or the insurance has ended)")
        }
        if let memberBinding {
            guard memberBinding.payer == payer.id else {
                return .refuse(.badState, "the member is bound to another payer")
            }
            return .alreadyBound(memberBinding, relationChanged: memberBinding.relation != relation)
        }
        guard payerMembers < maxMembers else {
            return .refuse(.badState, "the payer has \(maxMembers) members already")
        }
        return .bind
    }

    /// What FAMILYUNBIND ends: the member's standing binding to this payer, or `NOT_FOUND`.
    public static func unbind(payer: FamilyPerson, memberBinding: StandingBinding?) -> Result<StandingBinding, ErrorCode> {
        guard let memberBinding, memberBinding.payer == payer.id else { return .failure(.notFound) }
        return .success(memberBinding)
    }
}

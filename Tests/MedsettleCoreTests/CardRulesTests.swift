import Testing
@testable import MedsettleCore

/// Short, readable spellings so the expected tables below read like RULES.md §2.
private func render(_ state: CardState) -> String {
    let lost = state.statusBeforeLoss.map { "<" + $0.rawValue } ?? ""
    return "\(state.status.rawValue)\(lost) c\(state.wrongCount)"
}

private func render(_ result: Result<CardTransition, ErrorCode>) -> String {
    switch result {
    case .failure(let code):
        return code.rawValue
    case .success(let t):
        var parts = [t.card.map(render) ?? "-"]
        if let new = t.newCard {
            #expect(new == CardState(status: .pending, wrongCount: 0))
            parts.append("+new")
        }
        if t.resetsPIN { parts.append("reset") }
        return parts.joined(separator: " ")
    }
}

private func render(_ p: CardPresentation) -> String {
    var parts = [p.refusal.map { $0.code.rawValue } ?? "OK"]
    if let left = p.refusal?.attemptsLeft { parts.append("left=\(left)") }
    if let count = p.newWrongCount { parts.append("→\(count)") }
    if p.pinFailed { parts.append("fail") }
    if p.lockedNow { parts.append("lock") }
    if let status = p.newStatus { parts.append(status.rawValue) }
    return parts.joined(separator: " ")
}

private func state(_ status: CardStatus, _ count: Int = 0, was: CardStatus? = nil) -> CardState {
    CardState(status: status, wrongCount: count, statusBeforeLoss: was)
}

/// Every status (LOST once per previous status) × unlocked / part-counted / locked.
private let states: [(String, CardState)] = [
    ("PENDING c0", state(.pending)),
    ("PENDING c6", state(.pending, 6)),
    ("ACTIVE c0", state(.active)),
    ("ACTIVE c3", state(.active, 3)),
    ("ACTIVE c6", state(.active, 6)),
    ("LOST<ACTIVE c0", state(.lost, was: .active)),
    ("LOST<ACTIVE c6", state(.lost, 6, was: .active)),
    ("LOST<PENDING c0", state(.lost, was: .pending)),
    ("LOST<PENDING c6", state(.lost, 6, was: .pending)),
    ("REPLACED c0", state(.replaced)),
    ("REPLACED c6", state(.replaced, 6)),
    ("CANCELLED c0", state(.cancelled)),
    ("CANCELLED c6", state(.cancelled, 6)),
]

private let operationColumns: [CardOperation] = [.issue, .unlock, .pinReset, .reportLost, .releaseLoss, .replace, .cancel]

/// RULES.md §2 table, one row per state, one column per operation in `operationColumns` order.
/// For `.issue` the state is the person's latest card.
private let expectedOperations: [String: [String]] = [
    //                 issue          unlock              pinReset            reportLost          releaseLoss      replace             cancel
    "PENDING c0":      ["CARD_EXISTS", "BAD_STATE",        "PENDING c0 reset", "LOST<PENDING c0",  "BAD_STATE",     "REPLACED c0 +new", "CANCELLED c0"],
    "PENDING c6":      ["CARD_EXISTS", "PENDING c0",       "PENDING c0 reset", "LOST<PENDING c6",  "BAD_STATE",     "REPLACED c6 +new", "CANCELLED c6"],
    "ACTIVE c0":       ["CARD_EXISTS", "BAD_STATE",        "PENDING c0 reset", "LOST<ACTIVE c0",   "BAD_STATE",     "REPLACED c0 +new", "CANCELLED c0"],
    "ACTIVE c3":       ["CARD_EXISTS", "BAD_STATE",        "PENDING c0 reset", "LOST<ACTIVE c3",   "BAD_STATE",     "REPLACED c3 +new", "CANCELLED c3"],
    "ACTIVE c6":       ["CARD_EXISTS", "ACTIVE c0",        "PENDING c0 reset", "LOST<ACTIVE c6",   "BAD_STATE",     "REPLACED c6 +new", "CANCELLED c6"],
    "LOST<ACTIVE c0":  ["CARD_EXISTS", "CARD_LOST",        "CARD_LOST",        "CARD_LOST",        "ACTIVE c0",     "REPLACED c0 +new", "CANCELLED c0"],
    "LOST<ACTIVE c6":  ["CARD_EXISTS", "LOST<ACTIVE c0",   "CARD_LOST",        "CARD_LOST",        "ACTIVE c6",     "REPLACED c6 +new", "CANCELLED c6"],
    "LOST<PENDING c0": ["CARD_EXISTS", "CARD_LOST",        "CARD_LOST",        "CARD_LOST",        "PENDING c0",    "REPLACED c0 +new", "CANCELLED c0"],
    "LOST<PENDING c6": ["CARD_EXISTS", "LOST<PENDING c0",  "CARD_LOST",        "CARD_LOST",        "PENDING c6",    "REPLACED c6 +new", "CANCELLED c6"],
    "REPLACED c0":     ["- +new",      "CARD_REPLACED",    "CARD_REPLACED",    "CARD_REPLACED",    "CARD_REPLACED", "CARD_REPLACED",    "CARD_REPLACED"],
    "REPLACED c6":     ["- +new",      "CARD_REPLACED",    "CARD_REPLACED",    "CARD_REPLACED",    "CARD_REPLACED", "CARD_REPLACED",    "CARD_REPLACED"],
    "CANCELLED c0":    ["BAD_STATE",   "CARD_CANCELLED",   "CARD_CANCELLED",   "CARD_CANCELLED",   "CARD_CANCELLED", "CARD_CANCELLED",  "CARD_CANCELLED"],
    "CANCELLED c6":    ["BAD_STATE",   "CARD_CANCELLED",   "CARD_CANCELLED",   "CARD_CANCELLED",   "CARD_CANCELLED", "CARD_CANCELLED",  "CARD_CANCELLED"],
]

/// Presenting with a PIN: [right PIN, wrong PIN, e-card QR].
private let presentationStates: [(String, CardState)] = [
    ("PENDING c0", state(.pending)),
    ("PENDING c2", state(.pending, 2)),
    ("PENDING c5", state(.pending, 5)),
    ("PENDING c6", state(.pending, 6)),
    ("ACTIVE c0", state(.active)),
    ("ACTIVE c4", state(.active, 4)),
    ("ACTIVE c5", state(.active, 5)),
    ("ACTIVE c6", state(.active, 6)),
    ("LOST<ACTIVE c0", state(.lost, was: .active)),
    ("LOST<PENDING c6", state(.lost, 6, was: .pending)),
    ("REPLACED c0", state(.replaced)),
    ("REPLACED c6", state(.replaced, 6)),
    ("CANCELLED c0", state(.cancelled)),
    ("CANCELLED c6", state(.cancelled, 6)),
]

private let expectedPresentations: [String: [String]] = [
    //                 right PIN                      wrong PIN                        QR
    "PENDING c0":      ["PIN_CHANGE_REQUIRED",        "PIN_WRONG left=5 →1 fail",      "PIN_CHANGE_REQUIRED"],
    "PENDING c2":      ["PIN_CHANGE_REQUIRED →0",     "PIN_WRONG left=3 →3 fail",      "PIN_CHANGE_REQUIRED"],
    "PENDING c5":      ["PIN_CHANGE_REQUIRED →0",     "CARD_LOCKED →6 fail lock",      "PIN_CHANGE_REQUIRED"],
    "PENDING c6":      ["CARD_LOCKED",                "CARD_LOCKED",                   "CARD_LOCKED"],
    "ACTIVE c0":       ["OK",                         "PIN_WRONG left=5 →1 fail",      "OK"],
    "ACTIVE c4":       ["OK →0",                      "PIN_WRONG left=1 →5 fail",      "OK"],
    "ACTIVE c5":       ["OK →0",                      "CARD_LOCKED →6 fail lock",      "OK"],
    "ACTIVE c6":       ["CARD_LOCKED",                "CARD_LOCKED",                   "CARD_LOCKED"],
    "LOST<ACTIVE c0":  ["CARD_LOST",                  "CARD_LOST",                     "CARD_LOST"],
    "LOST<PENDING c6": ["CARD_LOST",                  "CARD_LOST",                     "CARD_LOST"],
    "REPLACED c0":     ["CARD_REPLACED",              "CARD_REPLACED",                 "CARD_REPLACED"],
    "REPLACED c6":     ["CARD_REPLACED",              "CARD_REPLACED",                 "CARD_REPLACED"],
    "CANCELLED c0":    ["CARD_CANCELLED",             "CARD_CANCELLED",                "CARD_CANCELLED"],
    "CANCELLED c6":    ["CARD_CANCELLED",             "CARD_CANCELLED",                "CARD_CANCELLED"],
]

/// PIN change from old PIN 123456: [right old + good new 246810, right old + weak new 111111,
/// right old + same as old 123456, wrong old + good new].
private let expectedPINChanges: [String: [String]] = [
    "PENDING c0":      ["OK ACTIVE",        "PIN_WEAK",     "PIN_WEAK",     "PIN_WRONG left=5 →1 fail"],
    "PENDING c2":      ["OK →0 ACTIVE",     "PIN_WEAK →0",  "PIN_WEAK →0",  "PIN_WRONG left=3 →3 fail"],
    "PENDING c5":      ["OK →0 ACTIVE",     "PIN_WEAK →0",  "PIN_WEAK →0",  "CARD_LOCKED →6 fail lock"],
    "PENDING c6":      ["CARD_LOCKED",      "CARD_LOCKED",  "CARD_LOCKED",  "CARD_LOCKED"],
    "ACTIVE c0":       ["OK ACTIVE",        "PIN_WEAK",     "PIN_WEAK",     "PIN_WRONG left=5 →1 fail"],
    "ACTIVE c4":       ["OK →0 ACTIVE",     "PIN_WEAK →0",  "PIN_WEAK →0",  "PIN_WRONG left=1 →5 fail"],
    "ACTIVE c5":       ["OK →0 ACTIVE",     "PIN_WEAK →0",  "PIN_WEAK →0",  "CARD_LOCKED →6 fail lock"],
    "ACTIVE c6":       ["CARD_LOCKED",      "CARD_LOCKED",  "CARD_LOCKED",  "CARD_LOCKED"],
    "LOST<ACTIVE c0":  ["CARD_LOST",        "CARD_LOST",    "CARD_LOST",    "CARD_LOST"],
    "LOST<PENDING c6": ["CARD_LOST",        "CARD_LOST",    "CARD_LOST",    "CARD_LOST"],
    "REPLACED c0":     ["CARD_REPLACED",    "CARD_REPLACED", "CARD_REPLACED", "CARD_REPLACED"],
    "REPLACED c6":     ["CARD_REPLACED",    "CARD_REPLACED", "CARD_REPLACED", "CARD_REPLACED"],
    "CANCELLED c0":    ["CARD_CANCELLED",   "CARD_CANCELLED", "CARD_CANCELLED", "CARD_CANCELLED"],
    "CANCELLED c6":    ["CARD_CANCELLED",   "CARD_CANCELLED", "CARD_CANCELLED", "CARD_CANCELLED"],
]

@Suite("Card lifecycle state machine (RULES.md §2–§3)")
struct CardRulesTests {
    @Test func labelsMatchStates() {
        for (label, s) in states { #expect(render(s) == label) }
        for (label, s) in presentationStates { #expect(render(s) == label) }
        #expect(Set(states.map(\.0)) == Set(expectedOperations.keys))
        #expect(Set(presentationStates.map(\.0)) == Set(expectedPresentations.keys))
        #expect(Set(presentationStates.map(\.0)) == Set(expectedPINChanges.keys))
        #expect(Set(operationColumns) == Set(CardOperation.allCases))
    }

    @Test(arguments: states.map(\.0))
    func operations(_ label: String) throws {
        let s = try #require(states.first { $0.0 == label }?.1)
        let expected = try #require(expectedOperations[label])
        let actual = operationColumns.map { render(CardRules.apply($0, to: s)) }
        for (op, (want, got)) in zip(operationColumns, zip(expected, actual)) {
            #expect(got == want, "\(label) \(op)")
        }
    }

    @Test func issueWithoutAnyCard() {
        #expect(render(CardRules.issue(latest: nil)) == "- +new")
    }

    @Test(arguments: presentationStates.map(\.0))
    func presentations(_ label: String) throws {
        let s = try #require(presentationStates.first { $0.0 == label }?.1)
        let expected = try #require(expectedPresentations[label])
        #expect(render(CardRules.present(s, pinMatches: true)) == expected[0], "\(label) right PIN")
        #expect(render(CardRules.present(s, pinMatches: false)) == expected[1], "\(label) wrong PIN")
        #expect(render(CardRules.presentQR(s)) == expected[2], "\(label) QR")
    }

    @Test(arguments: presentationStates.map(\.0))
    func pinChanges(_ label: String) throws {
        let s = try #require(presentationStates.first { $0.0 == label }?.1)
        let expected = try #require(expectedPINChanges[label])
        let old = "123456"
        #expect(render(CardRules.changePIN(s, oldPINMatches: true, oldPIN: old, newPIN: "246810")) == expected[0], "\(label) good")
        #expect(render(CardRules.changePIN(s, oldPINMatches: true, oldPIN: old, newPIN: "111111")) == expected[1], "\(label) weak")
        #expect(render(CardRules.changePIN(s, oldPINMatches: true, oldPIN: old, newPIN: old)) == expected[2], "\(label) same")
        #expect(render(CardRules.changePIN(s, oldPINMatches: false, oldPIN: "000000", newPIN: "246810")) == expected[3], "\(label) wrong old")
    }

    @Test func malformedNewPINIsNeverAccepted() {
        let p = CardRules.changePIN(state(.active), oldPINMatches: true, oldPIN: "246810", newPIN: "12345")
        #expect(p.refusal == .pinWeak)
    }

    @Test func lockoutSequenceThroughTheStateMachine() {
        // A card whose count is persisted after each decision, as the store does.
        var card = state(.active)
        var replies: [String] = []
        for _ in 1...8 {
            let p = CardRules.present(card, pinMatches: false)
            replies.append(render(p))
            if let count = p.newWrongCount { card = state(card.status, count) }
        }
        #expect(replies == [
            "PIN_WRONG left=5 →1 fail", "PIN_WRONG left=4 →2 fail", "PIN_WRONG left=3 →3 fail",
            "PIN_WRONG left=2 →4 fail", "PIN_WRONG left=1 →5 fail", "CARD_LOCKED →6 fail lock",
            "CARD_LOCKED", "CARD_LOCKED",
        ])
        #expect(card.wrongCount == 6 && card.isLocked)   // never 7
        // The right PIN does not help while locked.
        #expect(render(CardRules.present(card, pinMatches: true)) == "CARD_LOCKED")
        // A window unlocks it; the PIN is kept, so the right PIN now works.
        let unlocked = try? CardRules.apply(.unlock, to: card).get().card
        #expect(unlocked == state(.active, 0))
        #expect(render(CardRules.present(unlocked!, pinMatches: true)) == "OK")
    }

    @Test func fullLifecycle() throws {
        // issue → change PIN → report lost → release → replace (new card PENDING) → cancel the new one.
        let issued = try CardRules.issue(latest: nil).get()
        var card = try #require(issued.newCard)
        #expect(card.status == .pending)
        let changed = CardRules.changePIN(card, oldPINMatches: true, oldPIN: PinPolicy.initialPIN, newPIN: "246810")
        card = state(try #require(changed.newStatus))
        card = try #require(try CardRules.apply(.reportLost, to: card).get().card)
        #expect(render(card) == "LOST<ACTIVE c0")
        #expect(CardRules.apply(.issue, to: card) == .failure(.cardExists))
        card = try #require(try CardRules.apply(.releaseLoss, to: card).get().card)
        #expect(card.status == .active)
        let replaced = try CardRules.apply(.replace, to: card).get()
        #expect(replaced.card?.status == .replaced)
        let newCard = try #require(replaced.newCard)
        #expect(CardRules.present(try #require(replaced.card), pinMatches: true).refusal == .replaced)
        let cancelled = try #require(try CardRules.apply(.cancel, to: newCard).get().card)
        #expect(cancelled.status == .cancelled)
        #expect(CardRules.issue(latest: cancelled) == .failure(.badState))
        #expect(CardRules.apply(.replace, to: cancelled) == .failure(.cardCancelled))
    }

    @Test func allowedKinds() {
        let expected: [CardOperation: Set<TerminalKind>] = [
            .issue: [.window, .online],
            .unlock: [.window],
            .pinReset: [.window],
            .reportLost: [.window, .hotline, .online],
            .releaseLoss: [.window],
            .replace: [.window, .online],
            .cancel: [.window],
        ]
        for op in CardOperation.allCases { #expect(op.allowedKinds == expected[op], "\(op)") }
        #expect(CardRules.pinChangeKinds == [.window, .pharmacy, .hospital])
    }

    @Test func statusPredicates() {
        #expect(CardStatus.allCases.filter(\.isFinal) == [.replaced, .cancelled])
        #expect(CardStatus.allCases.filter(\.isValid) == [.pending, .active, .lost])
        #expect(CardStatus(rawValue: "ACTIVE") == .active)
        #expect(CardState(status: .active, wrongCount: 0, statusBeforeLoss: .pending).statusBeforeLoss == nil)
    }

    @Test func refusalCodes() {
        let all: [CardRefusal] = [.cancelled, .replaced, .lost, .locked, .pinWrong(left: 2), .pinChangeRequired, .pinWeak]
        #expect(all.map(\.code) == [.cardCancelled, .cardReplaced, .cardLost, .cardLocked, .pinWrong, .pinChangeRequired, .pinWeak])
        #expect(all.map(\.attemptsLeft) == [nil, nil, nil, nil, 2, nil, nil])
    }
}

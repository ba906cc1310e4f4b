import Hummingbird
import MedsettleStore

/// Why an admin request was not done as asked: answered with its status and recorded as refused.
enum AdminRefusal: Error, Equatable {
    case badRequest(String)
    case notFound(String)
    case tooLarge(String)

    var status: HTTPResponse.Status {
        switch self {
        case .badRequest: return .badRequest
        case .notFound: return .notFound
        case .tooLarge: return .contentTooLarge
        }
    }

    var message: String {
        switch self {
        case .badRequest(let message), .notFound(let message), .tooLarge(let message): return message
        }
    }

    /// The store's refusals of an operator's request.
    static func from(_ error: any Error) -> AdminRefusal? {
        switch error {
        case let refusal as AdminRefusal: return refusal
        case TerminalAdministrationError.unknownTerminal(let id): return .notFound("no terminal \(id)")
        case let error as TerminalAdministrationError: return .badRequest(error.description)
        default: return nil
        }
    }
}

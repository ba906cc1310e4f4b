@testable import MSLP
import MedsettleCore

/// Parses a line given as text and returns the request, or `nil` on anything else.
func request(_ line: String) -> Request? {
    if case .request(let r) = RequestParser.parse(Array(line.utf8)) { return r }
    return nil
}

/// Parses raw bytes and returns the failure, or `nil` if the line did not fail.
func failure(_ bytes: [UInt8]) -> ProtocolFailure? {
    if case .failure(let f) = RequestParser.parse(bytes) { return f }
    return nil
}

func failure(_ line: String) -> ProtocolFailure? {
    failure(Array(line.utf8))
}

/// The encoded reply as text, for byte-exact comparisons that read well.
func text(_ bytes: [UInt8]) -> String {
    String(decoding: bytes, as: UTF8.self)
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }

    var successValue: Success? {
        if case .success(let v) = self { return v }
        return nil
    }
}

import MSLP
import MedsettleCore
import Tracing

/// Tracing of the MSLP front: a span per request line, from the line being read to its reply
/// being ready, named `MSLP VERB`. Off unless the engine is given a tracer (`otel-endpoint`);
/// off, the front holds no `RequestTracing` at all and a request pays one nil check.
///
/// A span carries the verb, the terminal, its institution, the request's tag and the reply's
/// code (`mslp.*` attributes) — never a field value of the request, so never a PIN, key, card
/// PIN or QR token. A SETTLE's span is handed to the settlement round that carries it, whose own
/// span links to it (`Settlements`).
public struct RequestTracing: Sendable {
    public let tracer: any Tracer
    /// The trace id of a span's context as the tracer spells it (each tracer keeps its own kind
    /// of context), for the request's log line; nil when the context holds none.
    public let traceID: @Sendable (ServiceContext) -> String?

    public init(tracer: any Tracer, traceID: @escaping @Sendable (ServiceContext) -> String?) {
        self.tracer = tracer
        self.traceID = traceID
    }

    /// A request's span, started as its line is routed; every request is a trace of its own.
    func start(verb: String) -> RequestSpan {
        let span = tracer.startSpan("MSLP \(verb)", context: .topLevel, ofKind: .server)
        span.attributes["mslp.verb"] = verb
        return RequestSpan(span: span, traceID: traceID)
    }
}

/// One request's span while it is answered.
struct RequestSpan {
    let span: any Span
    let traceID: @Sendable (ServiceContext) -> String?

    /// The context to hand on to work done for the request (the settlement round links to it);
    /// nil when the span is not recorded (a sampler left it out): nothing then refers to it.
    var recordedContext: ServiceContext? { span.isRecording ? span.context : nil }

    /// The trace id for the request's log line, when the span is recorded.
    var loggedTraceID: String? { span.isRecording ? traceID(span.context) : nil }

    /// Ends the span with what the log line says of the request.
    func end(terminal: String, institution: String, tag: String, code: String) {
        span.updateAttributes { attributes in
            attributes["mslp.terminal"] = terminal
            attributes["mslp.institution"] = institution
            attributes["mslp.tag"] = tag
            attributes["mslp.code"] = code
        }
        // Refusals are answers; only the engine's own trouble marks the span as failed.
        if Self.engineFaults.contains(code) { span.setStatus(SpanStatus(code: .error, message: code)) }
        span.end()
    }

    /// Ends the span of a request that got no reply (the engine stopped before answering it).
    func endUnanswered() {
        span.setStatus(SpanStatus(code: .error, message: "no reply"))
        span.end()
    }

    private static let engineFaults: Set<String> = Set([ErrorCode.busy, .unavailable, .internal].map(\.rawValue))
}

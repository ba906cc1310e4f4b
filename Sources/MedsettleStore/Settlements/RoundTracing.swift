import Tracing

/// A span per settlement round (one shared transaction of the group commit), linked to the
/// spans of the SETTLE requests it carried.
///
/// A round carries requests from many connections, each its own trace, so its span is a root of
/// its own with a link to each of them (how OpenTelemetry models batch work) rather than a child
/// of one. A round none of whose requests is traced (tracing off, or a sampler left them out)
/// starts no span. A round that failed and whose claims are settled again alone is one span, and
/// each retry another.
struct RoundTracing: Sendable {
    let tracer: any Tracer

    /// The round's span, or nil when none of its requests is traced.
    func start(carrying requests: [ServiceContext]) -> RoundSpan? {
        guard !requests.isEmpty else { return nil }
        let span = tracer.startSpan("settlement round", context: .topLevel, ofKind: .internal)
        for request in requests { span.addLink(SpanLink(context: request, attributes: [:])) }
        return RoundSpan(span: span)
    }
}

/// One round's span until its transaction has ended.
struct RoundSpan {
    let span: any Span

    /// Ends the span with what the round decided: how many claims it carried, settled, refused
    /// and left for a later round, or the refusal that ended the whole round.
    func end(claims: Int, _ result: Answer<[RoundVerdict]>) {
        span.updateAttributes { attributes in
            attributes["medsettle.round.claims"] = claims
            switch result {
            case .success(let verdicts):
                var settled = 0, refused = 0, deferred = 0
                for verdict in verdicts {
                    switch verdict {
                    case .answer(.success): settled += 1
                    case .answer(.failure): refused += 1
                    case .later: deferred += 1
                    }
                }
                attributes["medsettle.round.outcome"] = "committed"
                attributes["medsettle.round.settled"] = settled
                attributes["medsettle.round.refused"] = refused
                attributes["medsettle.round.deferred"] = deferred
            case .failure(let refusal):
                attributes["medsettle.round.outcome"] = refusal.code.rawValue
            }
        }
        if case .failure(let refusal) = result { span.setStatus(SpanStatus(code: .error, message: refusal.code.rawValue)) }
        span.end()
    }
}

import InMemoryTracing
import Logging
import MSLP
import MedsettleServer
import Testing
import Tracing

/// A span per request and per settlement round, the round linked to the requests it carried, and
/// the trace id in the request's log line (docs/DESIGN.md "Tracing"), with swift-distributed-
/// tracing's in-memory tracer in place of the OTLP exporter.
@Suite(.timeLimit(.minutes(2)))
struct TracingTests {
    @Test func settleMakesARequestSpanAndALinkedRoundSpan() async throws {
        let tracer = InMemoryTracer()
        let lines = LogLines()
        let logger = Logger(label: "medsettle.server") { label in
            KeyValueLogHandler(label: label, level: .info) { lines.append($0) }
        }
        let tracing = RequestTracing(tracer: tracer, traceID: { $0.inMemorySpanContext?.traceID })
        let engine = try await TestEngine.start(logger: logger, tracing: tracing)
        let (_, card) = try await engine.newCardholder(credit: 10_000, pin: "864213")
        tracer.clearFinishedSpans()

        let (settled, refused) = try await engine.withTerminal("P001-01") { pharmacy in
            (try await pharmacy.request("SETTLE s1 trace=TR-1 card=\(card) pin=864213 items=A002*1@1200"),
             try await pharmacy.request("SETTLE s2 trace=TR-2 card=\(card) pin=000000 items=A002*1@1200"))
        }
        #expect(settled.ok)
        #expect(refused.errorCode == .pinWrong)
        await engine.stop()

        let spans = tracer.finishedSpans
        let requests = spans.filter { $0.operationName == "MSLP SETTLE" }
        let rounds = spans.filter { $0.operationName == "settlement round" }
        try #require(requests.count == 2 && rounds.count == 2, "\(spans.map(\.operationName))")
        let (ok, wrong) = (requests[0], requests[1])
        #expect(ok.kind == .server)
        #expect(attribute(ok, "mslp.verb") == .string("SETTLE"))
        #expect(attribute(ok, "mslp.terminal") == .string("P001-01"))
        #expect(attribute(ok, "mslp.institution") == .string("P001"))
        #expect(attribute(ok, "mslp.tag") == .string("s1"))
        #expect(attribute(ok, "mslp.code") == .string("OK"))
        #expect(attribute(wrong, "mslp.code") == .string("PIN_WRONG"))
        // A refusal is an answer, not a failure of the engine.
        #expect(wrong.status?.code != .error)

        // Each round is a trace of its own, linked to the request it carried.
        for (round, request) in zip(rounds, requests) {
            #expect(round.links.compactMap(\.context.inMemorySpanContext) == [request.spanContext])
            #expect(round.traceID != request.traceID)
            #expect(attribute(round, "medsettle.round.claims") == .int(1))
            #expect(attribute(round, "medsettle.round.outcome") == .string("committed"))
        }
        #expect(attribute(rounds[0], "medsettle.round.settled") == .int(1))
        #expect(attribute(rounds[1], "medsettle.round.refused") == .int(1))

        // Every other request (SIGNIN) has its span too; no attribute holds a PIN or the mac.
        #expect(spans.contains { $0.operationName == "MSLP SIGNIN" })
        for span in spans {
            span.attributes.forEach { key, value in
                let text = "\(value)"
                #expect(!text.contains("864213") && !text.contains("000000"), "\(span.operationName) \(key)=\(text)")
                #expect(!["mslp.pin", "mslp.mac", "mslp.key"].contains(key))
            }
        }

        // The request's log line carries its trace id.
        let logged = try #require(lines.all.first { $0.contains("verb=SETTLE") && $0.contains("tag=s1") })
        #expect(logged.contains("trace_id=\(ok.traceID)"), "\(logged)")
    }

    /// `otel-endpoint` is an http(s) URL, and a flag that disagrees with OpenTelemetry's own
    /// variable (which the exporter reads too) is refused rather than silently overridden.
    @Test func otelEndpointIsCheckedAtStart() throws {
        let binary = ServeProcessTests.binary
        let secret = ["MEDSETTLE_SECRET": TestDatabaseServer.secretHex, "DATABASE_URL": "host=/nonexistent"]
        let bad = try DeployFilesTests.run(binary, ["config", "print", "--otel-endpoint", "collector:4318"], environment: secret)
        #expect(bad.status != 0 && bad.output.contains("otel-endpoint must be an http:// or https:// URL"), "\(bad.output)")
        let conflict = try DeployFilesTests.run(binary, ["config", "print", "--otel-endpoint", "http://a:4318"],
                                                environment: secret.merging(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318"]) { $1 })
        #expect(conflict.status != 0 && conflict.output.contains("disagrees with OTEL_EXPORTER_OTLP_ENDPOINT"), "\(conflict.output)")
        let fromVariable = try DeployFilesTests.run(binary, ["config", "print"],
                                                    environment: secret.merging(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318"]) { $1 })
        #expect(fromVariable.status == 0 && fromVariable.output.contains("otel-endpoint"), "\(fromVariable.output)")
        #expect(fromVariable.output.contains("environment OTEL_EXPORTER_OTLP_ENDPOINT"), "\(fromVariable.output)")
    }

    private func attribute(_ span: FinishedInMemorySpan, _ key: String) -> SpanAttribute? {
        span.attributes[key]?.toSpanAttribute()
    }

    /// Off (no tracer): no span is made and no log line has a trace id.
    @Test func untracedRequestsLogNoTraceID() async throws {
        let lines = LogLines()
        let logger = Logger(label: "medsettle.server") { label in
            KeyValueLogHandler(label: label, level: .info) { lines.append($0) }
        }
        let engine = try await TestEngine.start(logger: logger)
        let pinged = try await engine.withTerminal("P001-01") { try await $0.request("PING p1").ok }
        #expect(pinged)
        await engine.stop()
        let requests = lines.all.filter { $0.contains(" request ") || $0.contains("verb=") }
        #expect(requests.contains { $0.contains("verb=PING") })
        #expect(!requests.contains { $0.contains("trace_id=") })
    }
}

import Foundation
import Logging
import MedsettleConfig
import MedsettleServer
import OTel
import ServiceLifecycle
import Tracing

/// The engine's spans exported to an OpenTelemetry collector over OTLP/HTTP (swift-otel), when
/// `otel-endpoint` is set: a batch processor queues finished spans and an exporter sends them,
/// off the request path. Without `otel-endpoint` there is no tracer at all (the front and the
/// store hold nil), so tracing costs nothing when off.
struct EngineTracing {
    /// The tracer, as the front and the store take it.
    let requests: RequestTracing
    /// The exporter and its batch processor; shut down last, so the spans of the requests
    /// answered while draining are still sent.
    let service: any Service

    /// - Parameter endpoint: the collector's base URL; spans go to `/v1/traces` under it.
    init(endpoint: String, logger: Logger) throws {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "medsettle"
        configuration.resourceAttributes["service.version"] = BuildInfo.version
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.endpoint = endpoint.hasSuffix("/") ? endpoint + "v1/traces" : endpoint + "/v1/traces"
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        requests = RequestTracing(tracer: backend.factory, traceID: { $0.otelTraceID })
        service = backend.service
    }

    /// The checked `otel-endpoint`: an http or https URL, or nil when not set.
    ///
    /// swift-otel reads `OTEL_EXPORTER_OTLP_ENDPOINT` itself and lets it win over what it is
    /// given; a flag that says otherwise than that variable would be silently ignored, so it is
    /// refused instead.
    static func endpoint(_ settings: ResolvedSettings,
                         environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        guard let text = settings.string("otel-endpoint") else { return nil }
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw SettingError("otel-endpoint must be an http:// or https:// URL, got '\(text)' (\(settings.source("otel-endpoint")!))")
        }
        if let variable = environment["OTEL_EXPORTER_OTLP_ENDPOINT"], !variable.isEmpty, variable != text {
            throw SettingError("--otel-endpoint \(text) disagrees with OTEL_EXPORTER_OTLP_ENDPOINT=\(variable), which the exporter reads too: give one of them")
        }
        return text
    }
}

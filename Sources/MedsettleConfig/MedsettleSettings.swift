/// Every setting of every `medsettle` command, declared once: flag `--KEY`, environment variable,
/// config-file key `KEY`, default, and the commands (scopes) that read it. docs/OPERATIONS.md
/// documents the same table; `medsettle config print` shows the effective values. A new setting
/// is one row here; a new command names the scopes it reads.
public enum MedsettleSettings {
    public static let all: [SettingDefinition] = [
        // Where the database is.
        .init("database-url", environment: "DATABASE_URL", secret: true, scope: .database, flag: .value(name: "url"),
              help: "PostgreSQL URL or libpq conninfo (may list several hosts)"),
        // The server secret, as a file or as hex: one of them, chosen by `serverSecretKey`.
        .init("secret-file", environment: "MEDSETTLE_SECRET_FILE", scope: .secret, flag: .value(name: "path"),
              help: "file holding the server secret as hex"),
        .init("secret", environment: "MEDSETTLE_SECRET", secret: true, scope: .secret, flag: .none,
              help: "the server secret as hex (never on a command line)"),
        .init("log-level", environment: "MEDSETTLE_LOG_LEVEL", default: "info", scope: .log, flag: .value(name: "level"),
              help: "trace, debug, info (one line per request), notice, warning, error, critical"),
        .init("log-file", environment: "MEDSETTLE_LOG_FILE", scope: .log, flag: .value(name: "path"),
              help: "append the log to this file (reopened on SIGHUP) instead of standard error"),
        .init("log-buffer", environment: "MEDSETTLE_LOG_BUFFER", default: "4194304", scope: .log, flag: .value(name: "bytes"),
              help: "log lines waiting to be written; past it lines are dropped and counted, never waited for"),
        // The engine.
        .init("listen", environment: "MEDSETTLE_LISTEN", default: "127.0.0.1:7411", flag: .value(name: "host:port"),
              help: "MSLP listener, HOST:PORT"),
        .init("insecure", environment: "MEDSETTLE_INSECURE", default: "false", flag: .toggle,
              help: "allow plain TCP on a non-loopback address (PINs cross the network in the clear)"),
        .init("tls-cert", environment: "MEDSETTLE_TLS_CERT", flag: .value(name: "path"), help: "PEM certificate chain: serve MSLP over TLS"),
        .init("tls-key", environment: "MEDSETTLE_TLS_KEY", flag: .value(name: "path"), help: "PEM private key of --tls-cert"),
        .init("tls-client-ca", environment: "MEDSETTLE_TLS_CLIENT_CA", flag: .value(name: "path"),
              help: "PEM CAs: require client certificates signed by them"),
        .init("pool-size", environment: "MEDSETTLE_POOL_SIZE", default: "8", flag: .value(name: "n"),
              help: "database connections"),
        .init("pool-wait", environment: "MEDSETTLE_POOL_WAIT", default: "2", flag: .value(name: "seconds"),
              help: "seconds a request waits for a free connection, then BUSY"),
        // Limits on every engine database connection (docs/OPERATIONS.md says why these values):
        // a lock wait gives up before a statement does, and both well before a terminal would.
        .init("db-statement-timeout", environment: "MEDSETTLE_DB_STATEMENT_TIMEOUT", default: "10", flag: .value(name: "seconds"),
              help: "seconds a database statement may run, then it is cancelled and the request answers BUSY (0: no limit)"),
        .init("db-lock-timeout", environment: "MEDSETTLE_DB_LOCK_TIMEOUT", default: "5", flag: .value(name: "seconds"),
              help: "seconds a database statement may wait for a lock, then the request answers BUSY (0: no limit)"),
        .init("db-idle-in-transaction-timeout", environment: "MEDSETTLE_DB_IDLE_IN_TRANSACTION_TIMEOUT", default: "10",
              flag: .value(name: "seconds"),
              help: "seconds a database connection may sit idle inside a transaction before PostgreSQL ends it (0: no limit)"),
        .init("demo-database", environment: "MEDSETTLE_DEMO_DATABASE", default: "false", flag: .toggle,
              help: "this is a demo or load-test database: serve even when terminals have published keys"),
        .init("settle-workers", environment: "MEDSETTLE_SETTLE_WORKERS", default: "2", flag: .value(name: "n"),
              help: "settlement threads (group commit) under load, at most half the pool"),
        .init("settle-workers-light", environment: "MEDSETTLE_SETTLE_WORKERS_LIGHT", default: "2", flag: .value(name: "n"),
              help: "settlement threads while at most 16 settlements are queued or being settled (never fewer than settle-workers; at most half the pool)"),
        .init("settle-batch", environment: "MEDSETTLE_SETTLE_BATCH", default: "64", flag: .value(name: "n"),
              help: "most settlements per shared transaction"),
        .init("qr-secret", environment: "MEDSETTLE_QR_SECRET", secret: true, flag: .none,
              help: "QR signing key, at least 64 hex digits (default: derived from the server secret)"),
        .init("qr-secret-previous", environment: "MEDSETTLE_QR_SECRET_PREVIOUS", secret: true, flag: .none,
              help: "the QR key before rotation, still accepted"),
        .init("qr-lifetime", environment: "MEDSETTLE_QR_LIFETIME", default: "60", flag: .value(name: "seconds"),
              help: "seconds a payment QR token stays valid"),
        .init("qr-purge-interval", environment: "MEDSETTLE_QR_PURGE_INTERVAL", default: "60", flag: .value(name: "seconds"),
              help: "seconds between purges of used QR tokens expired over 5 minutes ago (0: never)"),
        .init("qr-purge-batch", environment: "MEDSETTLE_QR_PURGE_BATCH", default: "500", flag: .value(name: "n"),
              help: "most used QR tokens deleted per transaction by the purge"),
        .init("max-line", environment: "MEDSETTLE_MAX_LINE", default: "16384", flag: .value(name: "bytes"),
              help: "longest request line in bytes"),
        .init("max-in-flight", environment: "MEDSETTLE_MAX_IN_FLIGHT", default: "128", flag: .value(name: "n"),
              help: "lines read and not yet answered, plus replies not yet sent, per connection before reading pauses"),
        .init("max-connections", environment: "MEDSETTLE_MAX_CONNECTIONS", default: "4096", flag: .value(name: "n"),
              help: "open connections; more are refused with * ERR BUSY"),
        .init("max-queued", environment: "MEDSETTLE_MAX_QUEUED", default: "4096", flag: .value(name: "n"),
              help: "requests waiting for a database thread; more answer BUSY at once"),
        .init("idle-timeout", environment: "MEDSETTLE_IDLE_TIMEOUT", default: "300", flag: .value(name: "seconds"),
              help: "seconds a connection may sit idle"),
        .init("line-timeout", environment: "MEDSETTLE_LINE_TIMEOUT", default: "30", flag: .value(name: "seconds"),
              help: "seconds a started request line has to be completed"),
        // Hostile clients: a deadline for signing in, and limits per client address (an IPv6
        // client's /64). Behind a TCP proxy every client has the proxy's address: 0 turns the
        // per-address limits off.
        .init("signin-timeout", environment: "MEDSETTLE_SIGNIN_TIMEOUT", default: "10", flag: .value(name: "seconds"),
              help: "seconds a new connection has to sign in; then * ERR NOT_SIGNED_IN and it is closed"),
        .init("max-connections-per-address", environment: "MEDSETTLE_MAX_CONNECTIONS_PER_ADDRESS", default: "256",
              flag: .value(name: "n"),
              help: "open connections from one client address; more are refused with * ERR BUSY (0: no limit)"),
        .init("max-signin-failures", environment: "MEDSETTLE_MAX_SIGNIN_FAILURES", default: "20", flag: .value(name: "n"),
              help: "failed sign-ins from one address within signin-failure-window before its sign-ins are refused (0: no limit)"),
        .init("signin-failure-window", environment: "MEDSETTLE_SIGNIN_FAILURE_WINDOW", default: "60", flag: .value(name: "seconds"),
              help: "seconds over which an address's failed sign-ins are counted"),
        .init("signin-cooldown", environment: "MEDSETTLE_SIGNIN_COOLDOWN", default: "60", flag: .value(name: "seconds"),
              help: "seconds an address's sign-ins stay refused once it reached max-signin-failures"),
        .init("shutdown-grace", environment: "MEDSETTLE_SHUTDOWN_GRACE", default: "30", flag: .value(name: "seconds"),
              help: "seconds to finish requests after SIGTERM"),
        .init("metrics", environment: "MEDSETTLE_METRICS", flag: .value(name: "host:port"),
              help: "Prometheus endpoint with the health checks, [HOST:]PORT (GET /metrics, /healthz, /readyz); without a host, on 127.0.0.1 only"),
        // The operators' HTTP side (docs/OPERATIONS.md "The admin side"): off unless set; the
        // demo's is on at 127.0.0.1:7412.
        .init("admin-listen", environment: "MEDSETTLE_ADMIN_LISTEN", flag: .value(name: "host:port"),
              help: "operators' HTTP side, HOST:PORT: /healthz, /readyz, /metrics, the admin API and console (off unless set; demo: 127.0.0.1:7412; off: none)"),
        .init("admin-database-url", environment: "MEDSETTLE_ADMIN_DATABASE_URL", secret: true, flag: .value(name: "url"),
              help: "the admin API's database role, one that may disable terminals (default: database-url)"),
        .init("admin-max-connections", environment: "MEDSETTLE_ADMIN_MAX_CONNECTIONS", default: "32", flag: .value(name: "n"),
              help: "open connections to the admin side; more wait to be accepted"),
        .init("admin-max-body", environment: "MEDSETTLE_ADMIN_MAX_BODY", default: "16384", flag: .value(name: "bytes"),
              help: "largest request body the admin side takes (413 beyond)"),
        .init("admin-page-rows", environment: "MEDSETTLE_ADMIN_PAGE_ROWS", default: "500", flag: .value(name: "n"),
              help: "most rows in one page of an admin API list"),
        // Tracing (docs/OPERATIONS.md "Tracing"): off unless a collector is named. The variable
        // is OpenTelemetry's own, which swift-otel reads too.
        .init("otel-endpoint", environment: "OTEL_EXPORTER_OTLP_ENDPOINT", flag: .value(name: "url"),
              help: "OpenTelemetry collector, OTLP/HTTP base URL (e.g. http://127.0.0.1:4318): a span per request and per settlement round, sent to URL/v1/traces (off unless set)"),
        // Schema migrations (`medsettle migrate`).
        .init("migration-lock-timeout", environment: "MEDSETTLE_MIGRATION_LOCK_TIMEOUT", default: "3", scope: .migration,
              flag: .value(name: "seconds"),
              help: "seconds a migration may wait for a lock; then nothing of it is applied and migrate fails"),
        // An MSLP client (`medsettle client`).
        .init("host", environment: "MEDSETTLE_CLIENT_HOST", default: "127.0.0.1", scope: .client, flag: .value(name: "host"),
              help: "the engine's host"),
        .init("port", environment: "MEDSETTLE_CLIENT_PORT", default: "7411", scope: .client, flag: .value(name: "port"),
              help: "the engine's port"),
        .init("terminal", environment: "MEDSETTLE_TERMINAL", scope: .client, flag: .value(name: "id"),
              help: "terminal id, e.g. P001-01"),
        // The terminal's key, as a file or as hex: one of them, chosen by `terminalKeyKey`.
        .init("key-file", environment: "MEDSETTLE_TERMINAL_KEY_FILE", scope: .client, flag: .value(name: "path"),
              help: "file holding the terminal's 32-byte key as 64 hex digits (mode 0600)"),
        .init("key", environment: "MEDSETTLE_TERMINAL_KEY", secret: true, scope: .client, flag: .value(name: "hex"),
              help: "the terminal's key as 64 hex digits (as a flag: for trials only, ps shows it)"),
        .init("tls", environment: "MEDSETTLE_CLIENT_TLS", default: "false", scope: .client, flag: .toggle,
              help: "speak TLS (implied by --tls-ca and --client-cert)"),
        .init("tls-ca", environment: "MEDSETTLE_TLS_CA", scope: .client, flag: .value(name: "path"),
              help: "PEM CAs that sign the engine's certificate (default: the system's)"),
        .init("client-cert", environment: "MEDSETTLE_CLIENT_CERT", scope: .client, flag: .value(name: "path"),
              help: "PEM client certificate, for engines that require one"),
        .init("client-key", environment: "MEDSETTLE_CLIENT_KEY", scope: .client, flag: .value(name: "path"),
              help: "PEM private key of --client-cert"),
    ]

    /// Which of `secret-file` and `secret` gives the server secret: the one from the stronger
    /// source — `--secret-file`, then `MEDSETTLE_SECRET_FILE`, then `MEDSETTLE_SECRET`, then the
    /// config file's `secret-file`, then its `secret`. Every command chooses alike, so that
    /// `terminal add`, `terminal rotate-key` and `seed` seal terminal keys under the secret `serve`
    /// opens them with.
    public static func serverSecretKey(_ settings: ResolvedSettings) -> String? {
        settings.strongest(of: ["secret-file", "secret"])
    }

    /// Which of `key-file` and `key` gives `medsettle client` its terminal key: the one from the
    /// stronger source (flag, environment, config file), the file between equal sources.
    public static func terminalKeyKey(_ settings: ResolvedSettings) -> String? {
        settings.strongest(of: ["key-file", "key"])
    }
}

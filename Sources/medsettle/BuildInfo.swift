/// What this build of `medsettle` is: `medsettle --version`, the `medsettle_build_info` metric
/// and the `service.version` of exported spans.
enum BuildInfo {
    /// Raised with every release (and with each merged issue until the first).
    static let version = "0.16.0"
}

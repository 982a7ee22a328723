import SessionGateCore
import SessionGateProxy
import SessionGateStores

/// The checks that read files or need the TLS and store libraries, so they are not in the pure
/// loader: the listener's certificate and key (readable, PEM, matching), and the Postgres URL's
/// TLS parameters (`sslmode`, certificate files). Run by `check`, `serve` and every reload.
enum ConfigFileChecks {
    static func issues(_ config: ProxyConfig) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if let files = config.server.tls {
            do {
                try ListenerTLS.validate(files)
            } catch {
                issues.append(ConfigIssue(key: error.key, message: error.message))
            }
        }
        if config.store.backend == .postgres, let url = config.store.url {
            do {
                _ = try PostgresURL(url.revealed).clientConfiguration()
            } catch {
                issues.append(ConfigIssue(key: "store.url", message: error.detail))
            }
        }
        return issues
    }
}

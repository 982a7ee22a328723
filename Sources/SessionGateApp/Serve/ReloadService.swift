import Foundation
import Logging
import ServiceLifecycle
import SessionGateCore
import SessionGateProxy
import UnixSignals

/// Reloads the configuration on SIGHUP. The new file is validated completely first; an invalid
/// file is rejected with every error logged and the running configuration keeps serving. A valid
/// one replaces the runtime for requests that start afterwards (routes, cookie keys, signing,
/// header rules, timeouts); connections stay open. The listener's certificate and key files are
/// read again too (`ListenerTLS.reload`): new connections get the new certificate, open ones keep
/// theirs. Listen addresses, the upstream address and the
/// store backend need a restart, and a reload that changes them is refused.
struct ReloadService: Service {
    let path: String
    let runtimes: RuntimeSource
    let logger: Logger
    /// Counts reloads (`sessiongate_config_reloads_total`).
    let events: ProxyEvents
    /// The listener's TLS, when it serves HTTPS.
    var tls: ListenerTLS? = nil

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            reload()
        }
    }

    func reload() {
        let current = runtimes.current
        switch ConfigFile.load(path: path, environment: ProcessInfo.processInfo.environment) {
        case .failure(let errors):
            events.configReloaded(.rejected)
            logger.error("reload rejected; keeping the running configuration", metadata: ["errors": "\(errors.issues.map(\.description))"])
        case .success(let config):
            if let reason = Self.needsRestart(old: current.config, new: config) {
                events.configReloaded(.rejected)
                logger.error("reload rejected; keeping the running configuration", metadata: ["reason": "\(reason)"])
                return
            }
            do {
                let runtime = try ProxyRuntime(
                    config: config, store: current.store, clock: current.clock, random: current.random, logger: logger)
                // The files were read and checked by `ConfigFile.load` a moment ago; a failure here
                // (a file replaced in between) rejects the reload like any invalid file.
                if let tls, let files = config.server.tls { try tls.reload(files) }
                // Counted first: whoever sees the new configuration also sees the reload counted.
                events.configReloaded(.ok)
                runtimes.replace(with: runtime)
                var metadata: Logger.Metadata = ["routes": "\(config.routes.rules.count)"]
                if let tls { metadata["tls_certificate_serial"] = "\(tls.serial)" }
                logger.notice("configuration reloaded", metadata: metadata)
            } catch {
                events.configReloaded(.rejected)
                logger.error("reload rejected; keeping the running configuration", metadata: ["error": "\(error)"])
            }
        }
    }

    static func needsRestart(old: ProxyConfig, new: ProxyConfig) -> String? {
        if old.server.listen != new.server.listen { return "server.listen changed (restart to apply)" }
        if old.server.adminListen != new.server.adminListen { return "server.admin_listen changed (restart to apply)" }
        if (old.server.tls == nil) != (new.server.tls == nil) {
            return "server.tls_cert/tls_key added or removed: switching between HTTP and HTTPS needs a restart"
        }
        if old.upstream.url != new.upstream.url { return "upstream.url changed (restart to apply)" }
        if old.store != new.store { return "[store] changed (restart to apply)" }
        if old.session.userKey != new.session.userKey || old.session.idleTimeout != new.session.idleTimeout
            || old.session.absoluteTimeout != new.session.absoluteTimeout
        {
            return "[session] timeouts or user_key changed (restart to apply)"
        }
        return nil
    }
}

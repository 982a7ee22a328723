import Foundation
import SessionGateCore

/// Loads and validates a TOML configuration file.
public enum ConfigFile {
    /// Reads `path`, parses it as TOML and validates it with `ConfigLoader`. Unreadable files and
    /// syntax errors are reported as issues with the key `config`.
    public static func load(path: String, environment: [String: String]) -> Result<ProxyConfig, ConfigErrors> {
        parse(path: path).flatMap { root, directory in
            ConfigLoader.load(root, environment: environment, configDirectory: directory).flatMap(AdminTokenFile.read(into:))
                .flatMap { config in
                    // The parts that read files: the store's PEM files, the listener's certificate
                    // and key, the PostgreSQL URL's TLS files.
                    let issues = PEMFileCheck.issues(config) + ConfigFileChecks.issues(config)
                    return issues.isEmpty ? .success(config) : .failure(ConfigErrors(issues: issues))
                }
        }
    }

    /// `server.admin_listen` and `[admin]` (with `token_file` read) only, for the sessions CLI.
    static func loadAdminAccess(path: String, environment: [String: String]) -> Result<
        (adminListen: SocketAddressSpec, admin: ProxyConfig.Admin), ConfigErrors
    > {
        parse(path: path).flatMap { root, directory in
            ConfigLoader.loadAdminAccess(root, environment: environment, configDirectory: directory).flatMap { access in
                var config = ProxyConfig(
                    server: .init(), upstream: .init(), cookie: .init(), session: .init(), store: .init(), signing: .init(),
                    log: .init(), inject: [], routes: .init())
                config.admin = access.admin
                return AdminTokenFile.read(into: config).map { (access.adminListen, $0.admin) }
            }
        }
    }

    /// The file's TOML document and folder, or the issue that stops reading it.
    private static func parse(path: String) -> Result<(ConfigNode, String), ConfigErrors> {
        let url = URL(fileURLWithPath: path)
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read as UTF-8 text" : "does not exist"
            return .failure(
                ConfigErrors(issues: [
                    ConfigIssue(key: "config", message: "\(path) \(reason); pass --config FILE (see proxy.toml.example)")
                ]))
        }
        let root: ConfigNode
        do {
            root = try TOMLReader.parse(text)
        } catch {
            return .failure(
                ConfigErrors(issues: [ConfigIssue(key: "config", message: "\(path): TOML syntax error at \(error)")]))
        }
        return .success((root, url.deletingLastPathComponent().path))
    }
}

/// The PEM files a configuration names exist, can be read, and hold what their key says (the
/// loader is pure; this is the part that touches the file system).
enum PEMFileCheck {
    static func issues(_ config: ProxyConfig) -> [ConfigIssue] {
        let tls = config.store.tls
        let files: [(key: String, path: String?, kind: String)] = [
            ("store.tls_ca", tls.caFile, "CERTIFICATE"),
            ("store.tls_cert", tls.certificateFile, "CERTIFICATE"),
            ("store.tls_key", tls.keyFile, "PRIVATE KEY"),
        ]
        return files.compactMap { file in
            guard let path = file.path, let problem = problem(path, kind: file.kind) else { return nil }
            return ConfigIssue(key: file.key, message: problem)
        }
    }

    /// Nil when `path` is a readable PEM file holding a block of `kind` (`PRIVATE KEY` also
    /// matches `EC PRIVATE KEY` and `RSA PRIVATE KEY`). Never quotes the file's contents.
    static func problem(_ path: String, kind: String) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return "\(path) does not exist" }
        guard let data = FileManager.default.contents(atPath: path) else { return "\(path) cannot be read (check its permissions)" }
        let text = String(decoding: data, as: UTF8.self)
        let found = text.split(separator: "\n").contains { line in
            line.hasPrefix("-----BEGIN ") && line.hasSuffix("\(kind)-----")
        }
        return found ? nil : "\(path) holds no PEM \(kind.lowercased()) (expected a \"-----BEGIN \(kind)-----\" block)"
    }
}

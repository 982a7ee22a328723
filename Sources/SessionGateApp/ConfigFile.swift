import Foundation
import SessionGateCore

/// Loads and validates a TOML configuration file.
public enum ConfigFile {
    /// Reads `path`, parses it as TOML and validates it with `ConfigLoader`. Unreadable files and
    /// syntax errors are reported as issues with the key `config`.
    public static func load(path: String, environment: [String: String]) -> Result<ProxyConfig, ConfigErrors> {
        parse(path: path).flatMap { root, directory in
            ConfigLoader.load(root, environment: environment, configDirectory: directory).flatMap(AdminTokenFile.read(into:))
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

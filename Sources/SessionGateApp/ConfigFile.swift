import Foundation
import SessionGateCore

/// Loads and validates a TOML configuration file.
public enum ConfigFile {
    /// Reads `path`, parses it as TOML and validates it with `ConfigLoader`. Unreadable files and
    /// syntax errors are reported as issues with the key `config`.
    public static func load(path: String, environment: [String: String]) -> Result<ProxyConfig, ConfigErrors> {
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
        let directory = url.deletingLastPathComponent().path
        let loaded = ConfigLoader.load(root, environment: environment, configDirectory: directory)
        guard case .success(let config) = loaded else { return loaded }
        let issues = ConfigFileChecks.issues(config)
        return issues.isEmpty ? loaded : .failure(ConfigErrors(issues: issues))
    }
}

import Foundation
import SessionGateCore
import SessionGateShared

/// Reads `[admin] token_file` into the config's token, with the same checks as an inline token.
/// Trailing whitespace (the newline editors add) is not part of the token.
enum AdminTokenFile {
    static func read(into config: ProxyConfig) -> Result<ProxyConfig, ConfigErrors> {
        guard let path = config.admin.tokenFile else { return .success(config) }
        func failure(_ message: String) -> Result<ProxyConfig, ConfigErrors> {
            .failure(ConfigErrors(issues: [ConfigIssue(key: "admin.token_file", message: message)]))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            return failure("\(path) \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else { return failure("\(path) is not UTF-8 text") }
        var token = Substring(text)
        while let last = token.last, last.isWhitespace { token.removeLast() }
        if let problem = ProxyConfig.Admin.tokenProblem(String(token)) { return failure("the token in \(path) \(problem)") }
        var loaded = config
        loaded.admin.token = Secret(String(token))
        return .success(loaded)
    }
}

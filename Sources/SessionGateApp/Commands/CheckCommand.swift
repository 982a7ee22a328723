import ArgumentParser
import Foundation
import SessionGateCore

/// `sessiongate check --config FILE`: validates the configuration without opening any connection.
public struct CheckCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file (no connections are made).",
        discussion: "Prints a one-line summary and exits 0, or prints every problem as `error: <key>: <message>` and exits 1."
    )

    @Option(name: .long, help: "The TOML configuration file.")
    public var config: String = "proxy.toml"

    public init() {}

    public func run() throws {
        let code = execute(environment: ProcessInfo.processInfo.environment, output: .terminal)
        if code != .success { throw code }
    }

    /// Runs the check against `environment`, writing to `output`.
    public func execute(environment: [String: String], output: CommandOutput) -> ExitCode {
        switch ConfigFile.load(path: config, environment: environment) {
        case .success(let loaded):
            output.line("ok: \(config): \(Self.summary(of: loaded))")
            return .success
        case .failure(let errors):
            errors.report(to: output)
            return .failure
        }
    }

    /// A one-line description of a valid configuration (no secrets).
    static func summary(of config: ProxyConfig) -> String {
        let upstream = config.upstream.url
        let host = upstream.host.contains(":") ? "[\(upstream.host)]" : upstream.host
        let ruleCount = config.routes.rules.count
        return [
            "listen \(config.server.tls == nil ? "" : "https ")\(config.server.listen)",
            "admin \(config.server.adminListen)",
            "upstream http://\(host):\(upstream.port)\(upstream.basePath)",
            "store \(config.store.backend.rawValue)",
            "signing \(config.signing.algorithm.rawValue)",
            "\(ruleCount) route\(ruleCount == 1 ? "" : "s") (default \(config.routes.defaultAccess.rawValue))",
        ].joined(separator: ", ")
    }
}

extension ConfigErrors {
    /// One `error: <key>: <message>` line per issue on standard error.
    func report(to output: CommandOutput) {
        for issue in issues { output.errorLine("error: \(issue)") }
    }
}

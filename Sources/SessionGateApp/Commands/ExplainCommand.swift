import ArgumentParser
import Foundation
import SessionGateCore

/// `sessiongate explain --config FILE METHOD PATH`: shows how the proxy would treat a request:
/// the normalised path (or the 400/414 refusal), the matching rule and the access it gets.
public struct ExplainCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show the normalised path, the matching rule and the access a request gets.",
        discussion: "Exits 0 whenever the configuration is valid, including for targets the proxy would refuse."
    )

    @Option(name: .long, help: "The TOML configuration file.")
    public var config: String = "proxy.toml"

    @Argument(help: "The request method, e.g. GET.")
    public var method: String

    @Argument(help: "The request target, e.g. \"/admin/x?tab=1\" (quote it in the shell).")
    public var path: String

    public init() {}

    public func run() throws {
        let code = execute(environment: ProcessInfo.processInfo.environment, output: .terminal)
        if code != .success { throw code }
    }

    /// Loads the configuration and writes the decision to `output`.
    public func execute(environment: [String: String], output: CommandOutput) -> ExitCode {
        switch ConfigFile.load(path: config, environment: environment) {
        case .failure(let errors):
            errors.report(to: output)
            return .failure
        case .success(let loaded):
            for line in Self.explain(method: method, target: path, config: loaded) { output.line(line) }
            return .success
        }
    }

    /// The decision for one request, as lines of text.
    static func explain(method: String, target: String, config: ProxyConfig) -> [String] {
        var lines = ["request:  \(method) \(target)"]
        let normalized: NormalizedTarget
        switch PathNormalizer.normalize(target: target, maxLength: config.server.maxHeaderBytes, host: nil) {
        case .failure(let rejection):
            let name = rejection.status == 414 ? "URI Too Long" : "Bad Request"
            lines.append("rejected: \(rejection.status) \(name): \(rejection.reason)")
            lines.append("          the request never reaches a route or the upstream")
            return lines
        case .success(let value):
            normalized = value
        }
        let changed = normalized.path == target.prefix { $0 != "?" } ? "unchanged" : "normalised"
        lines.append("path:     \(normalized.path) (\(changed); matched and forwarded as is)")
        if let query = normalized.query { lines.append("query:    ?\(query) (forwarded untouched)") }

        let match = RouteTable(config.routes).match(method: method, path: normalized.path)
        if let rule = match.rule {
            let skipped =
                switch rule.index {
                case 0: ""
                case 1: " (route[0] did not match)"
                default: " (route[0]...route[\(rule.index - 1)] did not match)"
                }
            lines.append("rule:     \(match.explanation): first match\(skipped)")
        } else {
            lines.append("rule:     none of \(config.routes.rules.count) rules matched; [routes] default applies")
        }
        if !config.routes.caseSensitive {
            lines.append("case:     globs ignore ASCII case ([routes] case_sensitive = false); the path is forwarded as sent")
        }
        switch match.access {
        case .public:
            lines.append("access:   public: forwarded with or without a session (X-Session-Token only when one exists)")
        case .deny:
            lines.append("access:   deny: answered 403 by the proxy, never forwarded")
        case .session:
            lines.append("access:   session: forwarded only with a valid session")
            if let rule = match.rule, !rule.require.isEmpty {
                lines.append("require:  \(Self.describe(rule.require)); otherwise 403")
            }
            lines.append("no session: \(Self.unauthenticated(match.rule, routes: config.routes, target: normalized))")
            if config.routes.crossOriginProtection, CrossOriginPolicy.isStateChanging(method) {
                lines.append(
                    "origin:   403 when Sec-Fetch-Site is cross-site or same-site, or Origin is not this Host (cross_origin_protection)"
                )
            }
        }
        return lines
    }

    /// `role = "admin" or "editor", level = 3`.
    static func describe(_ require: [String: [JSONValue]]) -> String {
        require.keys.sorted().map { field in
            let values = require[field, default: []].map { JSONSerializer.string($0) }.joined(separator: " or ")
            return "\(field) = \(values) (or an array containing one)"
        }.joined(separator: ", and ")
    }

    /// What an unauthenticated request to a session route gets.
    static func unauthenticated(_ rule: RouteRule?, routes: ProxyConfig.Routes, target: NormalizedTarget) -> String {
        let mode = rule?.unauthenticated ?? .auto
        let unauthorized = "401 with {\"error\": \"unauthenticated\"}"
        guard mode != .unauthorized, let login = rule?.loginURL ?? routes.loginURL else {
            return unauthorized + (mode == .unauthorized ? " (unauthenticated = 401)" : " (no login_url configured)")
        }
        let redirect = "302 to \(login) with next=\(target.requestTarget)"
        if mode == .redirect { return redirect + " (unauthenticated = \"redirect\")" }
        return "\(redirect) when Accept includes text/html, else \(unauthorized) (unauthenticated = \"auto\")"
    }
}

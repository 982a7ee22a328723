import ArgumentParser
import Foundation
import SessionGateCore

/// `sessiongate sessions list|revoke|stats`: a running proxy's sessions API (admin listener),
/// with the address and token from the config file or from flags.
public struct SessionsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List and end sessions through a running proxy's admin API.",
        discussion: "Needs [admin] token (or token_file) in the proxy's configuration. See docs/admin-api.md.",
        subcommands: [List.self, Revoke.self, Stats.self]
    )

    public init() {}

    /// Where the admin API is and how to authenticate, shared by every subcommand.
    struct Connection: ParsableArguments {
        @Option(name: .long, help: "The proxy's TOML configuration file (admin_listen and [admin] token).")
        var config: String = "proxy.toml"

        @Option(name: .long, help: "The admin listener as HOST:PORT (default: server.admin_listen from the config).")
        var admin: String?

        @Option(name: .customLong("token-file"), help: "A file holding the bearer token (default: [admin] from the config).")
        var tokenFile: String?

        @Flag(name: .long, help: "Print the API's JSON answer instead of a table.")
        var json = false

        /// The client, or a message saying what is missing.
        func client(environment: [String: String]) throws(CLIFailure) -> AdminAPIClient {
            var host: String?
            var port: Int?
            var token: String?
            if let tokenFile {
                guard let data = FileManager.default.contents(atPath: tokenFile), let text = String(data: data, encoding: .utf8) else {
                    throw CLIFailure("--token-file \(tokenFile) cannot be read")
                }
                token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if let admin {
                guard let colon = admin.lastIndex(of: ":"), let value = Int(admin[admin.index(after: colon)...]) else {
                    throw CLIFailure("--admin must be HOST:PORT, e.g. 127.0.0.1:9090")
                }
                host = String(admin[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                port = value
            }
            if host == nil || token == nil {
                switch ConfigFile.loadAdminAccess(path: config, environment: environment) {
                case .failure(let errors):
                    throw CLIFailure(errors.issues.map { "error: \($0)" }.joined(separator: "\n"))
                case .success(let loaded):
                    if host == nil {
                        let listen = loaded.adminListen
                        host = ["0.0.0.0", "::", ""].contains(listen.host) ? "127.0.0.1" : listen.host
                        port = listen.port
                    }
                    if token == nil {
                        guard let configured = loaded.admin.token else {
                            throw CLIFailure("\(config) has no [admin] token or token_file: the sessions API is off")
                        }
                        token = configured.revealed
                    }
                }
            }
            return AdminAPIClient(host: host ?? "127.0.0.1", port: port ?? 9090, token: token ?? "")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a user's live sessions, most recently seen first.")
        @OptionGroup var connection: Connection
        @Option(name: .long, help: "The user id (the session field named by [session] user_key).")
        var user: String

        func run() async throws {
            try await SessionsCommand.call(connection, method: "GET", target: "/sessions?user=\(Self.encoded(user))") { body in
                SessionTable.render(listing: body)
            }
        }

        static func encoded(_ text: String) -> String {
            text.addingPercentEncoding(
                withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"))
                ?? text
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End one session (--sid) or every session of a user (--user).")
        @OptionGroup var connection: Connection
        @Option(name: .long, help: "End every live session of this user (back-channel logout).")
        var user: String?
        @Option(name: .long, help: "End the session with this sid (the token's sid claim).")
        var sid: String?

        func validate() throws {
            guard (user == nil) != (sid == nil) else { throw ValidationError("give exactly one of --user ID and --sid SID") }
        }

        func run() async throws {
            let target = sid.map { "/sessions/\(List.encoded($0))" } ?? "/sessions?user=\(List.encoded(user ?? ""))"
            try await SessionsCommand.call(connection, method: "DELETE", target: target) { body in
                guard case .object(let fields) = body, case .int(let count)? = fields["revoked"] else { return "revoked" }
                return "revoked \(count) session\(count == 1 ? "" : "s")"
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the number of live sessions (where the backend counts cheaply).")
        @OptionGroup var connection: Connection

        func run() async throws {
            try await SessionsCommand.call(connection, method: "GET", target: "/sessions/stats") { body in
                guard case .object(let fields) = body else { return "" }
                let backend = fields["backend"].flatMap { if case .string(let name) = $0 { name } else { nil } } ?? "?"
                switch fields["live_sessions"] {
                case .int(let count)?: return "\(backend): \(count) live session\(count == 1 ? "" : "s")"
                default: return "\(backend): the backend does not count live sessions cheaply"
                }
            }
        }
    }

    /// Sends one call; prints the JSON (`--json`) or `render`'s text on 2xx, else the API's error
    /// on standard error and exits 1.
    static func call(
        _ connection: Connection, method: String, target: String, output: CommandOutput = .terminal,
        render: (JSONValue) -> String
    ) async throws {
        let client: AdminAPIClient
        do {
            client = try connection.client(environment: ProcessInfo.processInfo.environment)
        } catch {
            output.errorLine(error.description)
            throw ExitCode.failure
        }
        let response: AdminAPIClient.Response
        do {
            response = try await client.send(method: method, target: target)
        } catch {
            output.errorLine("error: \(error)")
            throw ExitCode.failure
        }
        let body = try? JSONParser.parse(response.body, maxDepth: 8, maxBytes: AdminAPIClient.maxResponseBytes)
        guard (200..<300).contains(response.status) else {
            var message = "the admin API answered \(response.status)"
            if case .object(let fields)? = body, case .string(let reason)? = fields["error"] { message += ": \(reason)" }
            output.errorLine("error: \(message)")
            throw ExitCode.failure
        }
        if connection.json {
            output.line(response.body.trimmingCharacters(in: .whitespacesAndNewlines))
        } else if let body {
            output.line(render(body))
        }
    }
}

/// A CLI failure with the message to print (no secrets).
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The human-readable table of `sessions list`.
enum SessionTable {
    static let columns = ["SID", "CREATED", "LAST SEEN", "IP", "LAST IP", "USER AGENT"]
    static let fields = ["sid", "created_at", "last_seen_at", "ip", "last_ip", "user_agent"]

    static func render(listing: JSONValue) -> String {
        guard case .object(let top) = listing, case .array(let sessions)? = top["sessions"] else { return "" }
        var user = ""
        if case .string(let name)? = top["user"] { user = name }
        if sessions.isEmpty { return "no live sessions for user \(user)" }
        var rows = [columns]
        for session in sessions {
            guard case .object(let entry) = session else { continue }
            rows.append(
                fields.map { key in
                    if case .string(let text)? = entry[key] { return text.count > 60 ? String(text.prefix(57)) + "..." : text }
                    return "-"
                })
        }
        let widths = columns.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.indices.map { column in
                column == row.count - 1 ? row[column] : row[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

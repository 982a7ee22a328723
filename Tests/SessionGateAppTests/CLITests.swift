import ArgumentParser
import Foundation
import SessionGateApp
import SessionGateCore
import Testing

@Suite("CLI")
struct CLITests {
    /// A config file in a fresh temporary folder.
    static func writeConfig(_ text: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sessiongate-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("proxy.toml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test("the root command dispatches to check, explain and keygen")
    func rootCommand() throws {
        #expect(try SessionGateCommand.parseAsRoot(["check", "--config", "x.toml"]) is CheckCommand)
        #expect(try SessionGateCommand.parseAsRoot(["explain", "GET", "/"]) is ExplainCommand)
        #expect(try SessionGateCommand.parseAsRoot(["keygen", "--ed25519"]) is KeygenCommand)
        #expect(try CheckCommand.parse([]).config == "proxy.toml")
    }

    @Test("check passes on the example and prints a one-line summary")
    func checkExample() throws {
        let captured = CapturedOutput()
        let command = try CheckCommand.parse(["--config", Fixture.examplePath])
        let code = command.execute(environment: Fixture.environment, output: captured.output)
        #expect(code == .success)
        #expect(captured.err.isEmpty)
        #expect(captured.out.count == 1)
        let line = try #require(captured.out.first)
        #expect(line.hasPrefix("ok: "))
        for fragment in ["listen 127.0.0.1:8080", "admin 127.0.0.1:9090", "store memory", "6 routes"] {
            #expect(line.contains(fragment), "\(line)")
        }
        #expect(!line.contains(Fixture.key32) && !line.contains(Fixture.secret32))
    }

    @Test("check lists every issue as error: <key>: <message> and fails")
    func checkFailure() throws {
        let path = try Self.writeConfig(
            """
            [server]
            lisen = "127.0.0.1:8080"
            [upstream]
            url = "http://127.0.0.1:3000"
            [cookie]
            keys = ["\(Base64.encode([UInt8](repeating: 1, count: 8)))"]
            [session]
            absolute_timeout = "a week"
            [signing]
            secret = "${SESSIONGATE_SIGNING_SECRET}"
            """)
        let captured = CapturedOutput()
        let code = try CheckCommand.parse(["--config", path]).execute(environment: [:], output: captured.output)
        #expect(code == .failure)
        #expect(captured.out.isEmpty)
        let keys = captured.err.map { line in line.dropFirst("error: ".count).prefix { $0 != ":" } }
        #expect(keys == ["server.lisen", "cookie.keys[0]", "session.absolute_timeout", "signing.secret"])
        #expect(captured.err.allSatisfy { $0.hasPrefix("error: ") })
    }

    @Test("check reports a missing file")
    func checkMissingFile() throws {
        let captured = CapturedOutput()
        let code = try CheckCommand.parse(["--config", "/nonexistent/x.toml"]).execute(environment: [:], output: captured.output)
        #expect(code == .failure)
        #expect(captured.err.count == 1 && captured.err[0].hasPrefix("error: config: "))
    }

    @Test("explain normalises /public/../admin/x and matches the /admin/** rule")
    func explainAdmin() throws {
        let lines = try explain(["GET", "/public/../admin/x"])
        let text = lines.joined(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("path:") && $0.contains("/admin/x") }, "\(text)")
        #expect(lines.contains { $0.hasPrefix("rule:") && $0.contains("\"/admin/**\"") }, "\(text)")
        #expect(text.contains("access:   session"))
        #expect(text.contains("role = \"admin\""))
        #expect(text.contains("302 to /login with next=/admin/x"))
        #expect(text.contains("401"))
    }

    @Test("explain prints 400 for a rejected target and still exits 0")
    func explainRejected() throws {
        let lines = try explain(["GET", "/admin%2fx"])
        #expect(lines.contains { $0.hasPrefix("rejected: 400") && $0.contains("%2F") }, "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("rule:") })
        let long = try explain(["GET", "/" + String(repeating: "a", count: 20_000)])
        #expect(long.contains { $0.hasPrefix("rejected: 414") })
    }

    @Test("explain: public, deny, method mismatch, default and 401-only routes")
    func explainOtherRoutes() throws {
        let login = try explain(["post", "/login?next=%2F"]).joined(separator: "\n")
        #expect(login.contains("route[0] path \"/login\"") && login.contains("access:   public"))
        #expect(login.contains("query:    ?next=%2F"))
        let deny = try explain(["GET", "/internal/metrics"]).joined(separator: "\n")
        #expect(deny.contains("access:   deny") && deny.contains("403"))
        let staticPost = try explain(["POST", "/static/app.js"]).joined(separator: "\n")
        #expect(staticPost.contains("none of 6 rules matched") && staticPost.contains("access:   session"))
        let api = try explain(["GET", "/api/items"]).joined(separator: "\n")
        #expect(api.contains("401") && !api.contains("302"))
    }

    @Test("explain with an invalid config prints the issues and fails")
    func explainInvalidConfig() throws {
        let captured = CapturedOutput()
        let command = try ExplainCommand.parse(["--config", Fixture.examplePath, "GET", "/"])
        #expect(command.execute(environment: [:], output: captured.output) == .failure)
        #expect(captured.err.count == 2 && captured.out.isEmpty)
    }

    @Test("keygen prints only a base64 32-byte key, fresh each time")
    func keygen() throws {
        let first = CapturedOutput()
        let second = CapturedOutput()
        try KeygenCommand.parse([]).execute(random: SystemRandomBytes(), output: first.output)
        try KeygenCommand.parse(["--ed25519"]).execute(random: SystemRandomBytes(), output: second.output)
        #expect(first.out.count == 1 && first.err.isEmpty)
        #expect(Base64.decode(first.out[0])?.count == 32)
        #expect(Base64.decode(second.out[0])?.count == 32)
        #expect(first.out != second.out)

        let fixed = CapturedOutput()
        try KeygenCommand.parse([]).execute(random: CountingBytes(), output: fixed.output)
        #expect(fixed.out == [Base64.encode(Array(0..<32))])
    }

    @Test("a generated key and secret make the example valid")
    func keygenFeedsCheck() throws {
        let key = CapturedOutput()
        let secret = CapturedOutput()
        try KeygenCommand.parse([]).execute(random: SystemRandomBytes(), output: key.output)
        try KeygenCommand.parse([]).execute(random: SystemRandomBytes(), output: secret.output)
        let environment = ["SESSIONGATE_KEY": key.out[0], "SESSIONGATE_SIGNING_SECRET": secret.out[0]]
        #expect(throws: Never.self) { try ConfigFile.load(path: Fixture.examplePath, environment: environment).get() }
    }

    private func explain(_ arguments: [String]) throws -> [String] {
        let captured = CapturedOutput()
        let command = try ExplainCommand.parse(["--config", Fixture.examplePath] + arguments)
        let code = command.execute(environment: Fixture.environment, output: captured.output)
        #expect(code == .success)
        #expect(captured.err.isEmpty, "\(captured.err)")
        return captured.out
    }
}

/// Bytes 0, 1, 2, ...: a predictable source to show keygen prints exactly what it draws.
struct CountingBytes: RandomBytes {
    func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0) } }
}

import ArgumentParser
import Foundation
import SessionGateCore
import Testing

@testable import SessionGateApp

/// `[server] tls_cert` / `tls_key` and the Postgres URL's TLS parameters, as `check` sees them:
/// the pure loader (both or neither, paths resolved) and the file checks (readable, PEM, key
/// matching the certificate), each problem named by its key. The certificates come from the CA
/// the test command makes at run time (`SESSIONGATE_TEST_TLS_DIR`).
@Suite("TLS config")
struct TLSConfigTests {
    @Test func bothKeysOrNeither() throws {
        let issues = try Fixture.issues("[server]\ntls_cert = \"cert.pem\"\n" + Fixture.minimal)
        #expect(issues.map(\.key) == ["server.tls_key"])
        #expect(issues.first?.message.contains("is required with tls_cert") == true)
        let other = try Fixture.issues("[server]\ntls_key = \"key.pem\"\n" + Fixture.minimal)
        #expect(other.map(\.key) == ["server.tls_cert"])
        let config = try Fixture.config("[server]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"/abs/key.pem\"\n" + Fixture.minimal)
        #expect(config.server.tls == .init(certificatePath: "/etc/sessiongate/tls/cert.pem", keyPath: "/abs/key.pem"))
        #expect(try Fixture.config(Fixture.minimal).server.tls == nil)
    }

    @Test func checkAcceptsAMatchingPair() throws {
        let tls = try Self.tlsDirectory()
        let path = try CLITests.writeConfig(
            "[server]\ntls_cert = \"\(tls)/chain.pem\"\ntls_key = \"\(tls)/server.key\"\n" + Fixture.minimal)
        let captured = CapturedOutput()
        let code = try CheckCommand.parse(["--config", path]).execute(environment: Fixture.environment, output: captured.output)
        #expect(code == .success, "\(captured.err)")
        #expect(captured.out.first?.contains("listen https 127.0.0.1:8080") == true, "\(captured.out)")
    }

    @Test(arguments: [
        ("server.pem", "/nonexistent/key.pem", "server.tls_key", "does not exist"),
        ("/nonexistent/cert.pem", "server.key", "server.tls_cert", "does not exist"),
        ("server.pem", "server2.key", "server.tls_key", "is not the private key of the certificate"),
        ("server.key", "server.key", "server.tls_cert", "PEM certificate"),
        ("server.pem", "server.pem", "server.tls_key", "is not an unencrypted PEM private key"),
    ])
    func checkNamesTheBadFile(_ cert: String, _ key: String, _ expectedKey: String, _ expected: String) throws {
        let tls = try Self.tlsDirectory()
        func path(_ name: String) -> String { name.hasPrefix("/") ? name : "\(tls)/\(name)" }
        let captured = try Self.check(server: "tls_cert = \"\(path(cert))\"\ntls_key = \"\(path(key))\"")
        #expect(captured.code == .failure)
        #expect(captured.err.count == 1)
        #expect(captured.err.first?.hasPrefix("error: \(expectedKey): ") == true, "\(captured.err)")
        #expect(captured.err.first?.contains(expected) == true, "\(captured.err)")
    }

    @Test(arguments: [
        ("sslmode=prefer", "sslmode=prefer is refused"),
        ("sslmode=allow", "sslmode=allow is refused"),
        ("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", "sslrootcert: /nonexistent/ca.pem"),
        ("sslmode=verify-full&sslcert=/c.pem", "sslcert and sslkey together"),
    ])
    func checkRefusesPostgresTLSProblems(_ query: String, _ expected: String) throws {
        let store = "[store]\nbackend = \"postgres\"\nurl = \"postgres://u:hunter2@db.example/app?\(query)\"\n"
        let captured = try Self.check(server: "", extra: store)
        #expect(captured.code == .failure)
        #expect(captured.err.count == 1 && captured.err[0].hasPrefix("error: store.url: "), "\(captured.err)")
        #expect(captured.err.first?.contains(expected) == true, "\(captured.err)")
        #expect(!captured.err.joined().contains("hunter2"))
    }

    @Test func checkAcceptsAVerifiedPostgresURL() throws {
        let tls = try Self.tlsDirectory()
        let store = "[store]\nbackend = \"postgres\"\nurl = \"postgres://u:p@db.example/app?sslrootcert=\(tls)/ca.pem\"\n"
        let captured = try Self.check(server: "", extra: store)
        #expect(captured.code == .success, "\(captured.err)")
    }

    @Test func switchingBetweenHTTPAndHTTPSNeedsARestart() throws {
        let plain = try Fixture.config(Fixture.minimal)
        var https = plain
        https.server.tls = .init(certificatePath: "/etc/tls/a.pem", keyPath: "/etc/tls/a.key")
        #expect(ReloadService.needsRestart(old: plain, new: https)?.contains("needs a restart") == true)
        #expect(ReloadService.needsRestart(old: https, new: plain) != nil)
        // Other files (a renewal written under new names) apply on reload.
        var renewed = https
        renewed.server.tls = .init(certificatePath: "/etc/tls/b.pem", keyPath: "/etc/tls/b.key")
        #expect(ReloadService.needsRestart(old: https, new: renewed) == nil)
    }

    // MARK: Support

    static func tlsDirectory() throws -> String {
        guard let directory = ProcessInfo.processInfo.environment["SESSIONGATE_TEST_TLS_DIR"], !directory.isEmpty else {
            Issue.record("SESSIONGATE_TEST_TLS_DIR is unset: run through scripts/test.sh (scripts/lib/tls_ca.sh)")
            throw CancellationError()
        }
        return directory
    }

    static func check(server: String, extra: String = "") throws -> (code: ExitCode, err: [String]) {
        let path = try CLITests.writeConfig("[server]\n\(server)\n" + Fixture.minimal + extra)
        let captured = CapturedOutput()
        let code = try CheckCommand.parse(["--config", path]).execute(environment: Fixture.environment, output: captured.output)
        return (code, captured.err)
    }
}

import Foundation
import SessionGateApp
import SessionGateCore
import Testing

/// `[store]` keys for Redis over TLS and Redis Sentinel.
@Suite struct RedisStoreConfigTests {
    static func store(_ lines: String) -> String { Fixture.minimal + "[store]\nbackend = \"redis\"\n" + lines }

    @Test(
        arguments: [
            (store("url = \"redis://h:6379/0\"\ntls_ca = \"ca.pem\""), "store.tls_ca", "url is redis:// (plain text); use rediss://"),
            (store("url = \"redis://h:6379/0\"\ntls_insecure_skip_verify = true"), "store.tls_insecure_skip_verify", "use rediss://"),
            (store("url = \"rediss://h:6379/0\"\ntls_cert = \"c.pem\""), "store.tls_key", "needs both tls_cert and tls_key"),
            (store("url = \"rediss://h:6379/0\"\ntls_key = \"k.pem\""), "store.tls_cert", "needs both tls_cert and tls_key"),
            (
                store("url = \"rediss://h:6379/0\"\ntls_ca = \"ca.pem\"\ntls_insecure_skip_verify = true"), "store.tls_ca",
                "never used with tls_insecure_skip_verify"
            ),
            (store("url = \"rediss://h:6379/0\"\ntls_server_name = \"10.0.0.1\""), "store.tls_server_name", "DNS name"),
            (store("url = \"rediss://h:6379/0\"\ntls_ca = \"\""), "store.tls_ca", "must name a PEM file"),
            (Fixture.minimal + "[store]\nbackend = \"memory\"\ntls_ca = \"ca.pem\"", "store.tls_ca", "only applies to backend = \"redis\""),
            (
                Fixture.minimal + "[store]\nbackend = \"memory\"\nmaster_name = \"m\"", "store.master_name",
                "only applies to backend = \"redis\""
            ),
            (store("sentinels = [\"s1:26379\"]"), "store.master_name", "missing"),
            (store("sentinels = []\nmaster_name = \"m\""), "store.sentinels", "at least one"),
            (store("sentinels = [\"s1\"]\nmaster_name = \"m\""), "store.sentinels[0]", "has no port"),
            (store("sentinels = [\"s1:26379\"]\nmaster_name = \"m\"\ncluster = true"), "store.sentinels", "cluster = true"),
            (store("sentinels = [\"s1:26379\"]\nmaster_name = \"m\"\nurl = \"redis://h:6379/0\""), "store.url", "comes from Sentinel"),
            (store("url = \"redis://h:6379/0\"\nmaster_name = \"m\""), "store.master_name", "only used with sentinels"),
            (store("url = \"redis://h:6379/0\"\nsentinel_password = \"p\""), "store.sentinel_password", "only used with sentinels"),
            (store(""), "store.url", "or sentinels"),
        ])
    func refused(toml: String, key: String, fragment: String) throws {
        let issues = try Fixture.issues(toml)
        let issue = try #require(issues.first { $0.key == key }, "issues: \(issues)")
        #expect(issue.message.contains(fragment), "\(issue)")
    }

    @Test func tlsKeysAreReadAndResolved() throws {
        let config = try Fixture.config(
            Self.store(
                """
                url = "rediss://:pw@redis.example:6380/2"
                tls_ca = "tls/ca.pem"
                tls_cert = "/abs/client.pem"
                tls_key = "tls/client.key"
                tls_server_name = "redis.internal"
                """), directory: "/etc/sg")
        #expect(config.store.tls.caFile == "/etc/sg/tls/ca.pem")
        #expect(config.store.tls.certificateFile == "/abs/client.pem")
        #expect(config.store.tls.keyFile == "/etc/sg/tls/client.key")
        #expect(config.store.tls.serverName == "redis.internal")
        #expect(config.store.tls.insecureSkipVerify == false)
        #expect(config.store.sentinel == nil)
    }

    @Test func sentinelKeysAreRead() throws {
        let config = try Fixture.config(
            Self.store(
                """
                url = "rediss://:pw@/3"
                sentinels = ["10.0.0.1:26379", "[::1]:26380"]
                master_name = "mymaster"
                sentinel_password = "${SENTINEL_PW}"
                """), environment: Fixture.environment.merging(["SENTINEL_PW": "s3cret"]) { $1 })
        let sentinel = try #require(config.store.sentinel)
        #expect(sentinel.addresses == ["10.0.0.1:26379", "[::1]:26380"])
        #expect(sentinel.masterName == "mymaster")
        #expect(sentinel.password?.revealed == "s3cret")
        #expect(!"\(config)".contains("s3cret"))
        let noURL = try Fixture.config(Self.store("sentinels = [\"s:26379\"]\nmaster_name = \"m\""))
        #expect(noURL.store.url == nil)
    }

    /// `check` and startup read the PEM files: missing, unreadable and wrong-kind files are named by key.
    @Test func pemFilesAreChecked() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sg-pem-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".write(
            toFile: "\(directory)/ca.pem", atomically: true, encoding: .utf8)
        try "not pem".write(toFile: "\(directory)/key.pem", atomically: true, encoding: .utf8)
        let toml = Self.store(
            "url = \"rediss://h:6379/0\"\ntls_ca = \"ca.pem\"\ntls_cert = \"missing.pem\"\ntls_key = \"key.pem\"\n")
        let path = "\(directory)/proxy.toml"
        try toml.write(toFile: path, atomically: true, encoding: .utf8)
        guard case .failure(let errors) = ConfigFile.load(path: path, environment: Fixture.environment) else {
            Issue.record("expected errors")
            return
        }
        #expect(errors.issues.map(\.key) == ["store.tls_cert", "store.tls_key"])
        #expect(errors.issues[0].message.contains("missing.pem does not exist"))
        #expect(errors.issues[1].message.contains("holds no PEM private key"))
    }
}

import Foundation
import SessionGateCore
import Testing

@testable import SessionGateApp

/// Issue 13's configuration keys: defaults, accepted values and errors that name the key.
@Suite("Hardening config")
struct HardeningConfigTests {
    @Test func defaults() throws {
        let config = try Fixture.config(Fixture.minimal)
        #expect(config.server.upgrades == ["websocket"])
        #expect(config.server.bodyTimeout == .seconds(60))
        #expect(config.routes.crossOriginProtection)
        #expect(config.routes.trustedOrigins.isEmpty)
        #expect(config.routes.caseSensitive)
        #expect(config.session.maxDataBytes == 8192)
    }

    @Test func valuesAreReadAndNormalised() throws {
        let config = try Fixture.config(
            Fixture.minimal + """
                [server]
                upgrades = ["WebSocket", "x-custom"]
                body_timeout = "15s"

                [session]
                max_data_bytes = 0

                [routes]
                cross_origin_protection = false
                trusted_origins = ["HTTPS://Partner.Example:443", "http://localhost:8080", "https://partner.example"]
                case_sensitive = false
                """)
        #expect(config.server.upgrades == ["websocket", "x-custom"])
        #expect(config.server.bodyTimeout == .seconds(15))
        #expect(config.session.maxDataBytes == 0)
        #expect(!config.routes.crossOriginProtection)
        #expect(config.routes.trustedOrigins == ["https://partner.example", "http://localhost:8080"])
        #expect(!config.routes.caseSensitive)
        let empty = try Fixture.config(Fixture.minimal + "[server]\nupgrades = []\n")
        #expect(empty.server.upgrades.isEmpty)
    }

    @Test(arguments: [
        ("[server]\nupgrades = [\"h2c\"]\n", "server.upgrades[0]", "h2c"),
        ("[server]\nupgrades = [\"websocket\", \"H2C\"]\n", "server.upgrades[1]", "h2c"),
        ("[server]\nupgrades = [\"web socket\"]\n", "server.upgrades[0]", "not an Upgrade protocol token"),
        ("[server]\nupgrades = [\"websocket\", \"WebSocket\"]\n", "server.upgrades[1]", "listed twice"),
        ("[server]\nupgrades = \"websocket\"\n", "server.upgrades", "expected an array of strings"),
        ("[server]\nbody_timeout = 60\n", "server.body_timeout", "bare integer"),
        ("[server]\nbody_timeout = \"0s\"\n", "server.body_timeout", "greater than zero"),
        ("[session]\nmax_data_bytes = -1\n", "session.max_data_bytes", "out of range"),
        ("[session]\nmax_data_bytes = \"8k\"\n", "session.max_data_bytes", "expected an integer"),
        ("[routes]\ncross_origin_protection = \"yes\"\n", "routes.cross_origin_protection", "boolean"),
        ("[routes]\ncase_sensitive = 1\n", "routes.case_sensitive", "boolean"),
        ("[routes]\ntrusted_origins = [\"https://a.example/app\"]\n", "routes.trusted_origins[0]", "not an origin"),
        ("[routes]\ntrusted_origins = [\"a.example\"]\n", "routes.trusted_origins[0]", "not an origin"),
        ("[routes]\ntrusted_origins = [\"ftp://a.example\"]\n", "routes.trusted_origins[0]", "http or https"),
        ("[routes]\ntrusted_origin = []\n", "routes.trusted_origin", "did you mean \"trusted_origins\""),
        ("[server]\nupgrade = []\n", "server.upgrade", "did you mean \"upgrades\""),
        ("[session]\nmax_data_byte = 1\n", "session.max_data_byte", "did you mean \"max_data_bytes\""),
    ])
    func invalidValuesNameTheKey(toml: String, key: String, message: String) throws {
        let issues = try Fixture.issues(Fixture.minimal + toml)
        try #require(issues.count == 1, "\(issues)")
        #expect(issues[0].key == key)
        #expect(issues[0].message.contains(message), "\(issues[0].message)")
    }

    @Test func explainHonoursCaseSensitivity() throws {
        var config = try Fixture.config(
            Fixture.minimal + """
                [[route]]
                path = "/admin/**"
                access = "deny"
                """)
        #expect(ExplainCommand.explain(method: "GET", target: "/ADMIN/x", config: config).contains { $0.contains("[routes] default") })
        config.routes.caseSensitive = false
        let lines = ExplainCommand.explain(method: "GET", target: "/ADMIN/x", config: config)
        #expect(lines.contains { $0.hasPrefix("rule:") && $0.contains("\"/admin/**\"") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("access:   deny") })
        #expect(lines.contains { $0.hasPrefix("path:") && $0.contains("/ADMIN/x") }, "forwarded as sent")
        #expect(lines.contains { $0.hasPrefix("case:") })
    }

    @Test func explainMentionsCrossOriginProtectionForStateChangingMethods() throws {
        let config = try Fixture.config(Fixture.minimal)
        #expect(ExplainCommand.explain(method: "POST", target: "/x", config: config).contains { $0.hasPrefix("origin:") })
        #expect(!ExplainCommand.explain(method: "GET", target: "/x", config: config).contains { $0.hasPrefix("origin:") })
    }
}

/// Issue 15's configuration keys: `[admin] token` / `token_file` and `[session] max_per_user`.
@Suite("Sessions API config")
struct SessionsAPIConfigTests {
    static let token = String(repeating: "k", count: 32)

    @Test func offByDefault() throws {
        let config = try Fixture.config(Fixture.minimal)
        #expect(config.admin.token == nil && !config.admin.sessionsAPIEnabled)
        #expect(config.session.maxPerUser == 0)
    }

    @Test func inlineTokenAndBound() throws {
        let config = try Fixture.config(
            Fixture.minimal + "[session]\nmax_per_user = 5\n[admin]\ntoken = \"${ADMIN}\"\n",
            environment: Fixture.environment.merging(["ADMIN": Self.token]) { $1 })
        #expect(config.admin.token?.revealed == Self.token)
        #expect(config.session.maxPerUser == 5)
    }

    @Test func shortOrUnsafeTokensAndBothKeysAreRefusedByKey() throws {
        let short = try Fixture.issues(Fixture.minimal + "[admin]\ntoken = \"short\"\n")
        #expect(short.map(\.key) == ["admin.token"])
        #expect(short[0].message.contains("at least 32") && !short[0].message.contains("short\""))
        let spaced = try Fixture.issues(Fixture.minimal + "[admin]\ntoken = \"\(Self.token) x\"\n")
        #expect(spaced.map(\.key) == ["admin.token"])
        let both = try Fixture.issues(Fixture.minimal + "[admin]\ntoken = \"\(Self.token)\"\ntoken_file = \"t\"\n")
        #expect(both.map(\.key) == ["admin.token_file"])
        let negative = try Fixture.issues(Fixture.minimal + "[session]\nmax_per_user = -1\n")
        #expect(negative.map(\.key) == ["session.max_per_user"])
        let unknown = try Fixture.issues(Fixture.minimal + "[admin]\ntokens = \"x\"\n")
        #expect(unknown.map(\.key) == ["admin.tokens"])
    }

    @Test func tokenFileIsReadTrimmedAndChecked() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sg-admin-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let configPath = folder.appendingPathComponent("proxy.toml").path
        try (Fixture.minimal + "[admin]\ntoken_file = \"admin.token\"\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        let missing = try #require(ConfigFile.load(path: configPath, environment: Fixture.environment).failure)
        #expect(missing.keys == ["admin.token_file"] && missing.issues[0].message.contains("does not exist"))
        let tokenPath = folder.appendingPathComponent("admin.token").path
        try "tooshort\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        let short = try #require(ConfigFile.load(path: configPath, environment: Fixture.environment).failure)
        #expect(short.keys == ["admin.token_file"] && !short.issues[0].message.contains("tooshort"))
        try (Self.token + "\n").write(toFile: tokenPath, atomically: true, encoding: .utf8)
        let config = try ConfigFile.load(path: configPath, environment: Fixture.environment).get()
        #expect(config.admin.token?.revealed == Self.token)
    }
}

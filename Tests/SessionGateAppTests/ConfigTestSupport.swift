import SessionGateApp
import SessionGateCore
import Synchronization
import Testing

/// Fixtures shared by the config and CLI tests.
enum Fixture {
    /// A base64 string of 32 bytes (test-only key material).
    static let key32 = Base64.encode([UInt8](repeating: 7, count: 32))
    static let secret32 = "0123456789abcdef0123456789abcdef"
    static let environment = ["SESSIONGATE_KEY": key32, "SESSIONGATE_SIGNING_SECRET": secret32]

    /// The repository root, found from this file's location.
    static var repositoryRoot: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }

    static var examplePath: String { repositoryRoot + "/proxy.toml.example" }

    /// The smallest valid configuration; tests append or replace sections.
    static let minimal = """
        [upstream]
        url = "http://127.0.0.1:3000"

        [cookie]
        keys = ["${SESSIONGATE_KEY}"]

        [signing]
        secret = "${SESSIONGATE_SIGNING_SECRET}"

        """

    /// Parses TOML and validates it.
    static func load(
        _ toml: String, environment: [String: String] = Fixture.environment, directory: String = "/etc/sessiongate"
    ) throws -> Result<ProxyConfig, ConfigErrors> {
        let root = try TOMLReader.parse(toml)
        return ConfigLoader.load(root, environment: environment, configDirectory: directory)
    }

    /// The issues of an invalid configuration (fails the test when it is valid).
    static func issues(
        _ toml: String, environment: [String: String] = Fixture.environment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [ConfigIssue] {
        switch try load(toml, environment: environment) {
        case .success:
            Issue.record("expected configuration errors", sourceLocation: sourceLocation)
            return []
        case .failure(let errors):
            return errors.issues
        }
    }

    /// The configuration when valid (fails the test with the issues otherwise).
    static func config(
        _ toml: String, environment: [String: String] = Fixture.environment, directory: String = "/etc/sessiongate",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ProxyConfig {
        switch try load(toml, environment: environment, directory: directory) {
        case .success(let config): return config
        case .failure(let errors):
            Issue.record("unexpected configuration errors:\n\(errors)", sourceLocation: sourceLocation)
            throw errors
        }
    }
}

/// Captures what a command writes.
final class CapturedOutput: Sendable {
    private let lines = Mutex<(out: [String], err: [String])>(([], []))

    var output: CommandOutput {
        CommandOutput(
            line: { text in self.lines.withLock { $0.out.append(text) } },
            errorLine: { text in self.lines.withLock { $0.err.append(text) } })
    }

    var out: [String] { lines.withLock { $0.out } }
    var err: [String] { lines.withLock { $0.err } }
}

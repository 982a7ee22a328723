/// One problem in a configuration file: the key it concerns and what would be right.
///
/// Messages never contain secret values (cookie keys, signing secrets, URL passwords).
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// Dotted key such as `server.listen`, `cookie.keys[0]` or `route[2].access`; `config` for the
    /// file as a whole.
    public var key: String
    /// What is wrong and what would be right.
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}

/// Every problem found in one configuration, reported together.
public struct ConfigErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) {
        self.issues = issues
    }

    /// One issue per line.
    public var description: String { issues.map(\.description).joined(separator: "\n") }

    /// The keys of all issues, in order.
    public var keys: [String] { issues.map(\.key) }
}

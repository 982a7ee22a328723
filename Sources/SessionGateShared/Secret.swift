/// A value that must never reach a log line, an error message, a `dump` or a test failure.
///
/// Every textual form — `"\(secret)"`, `String(reflecting:)`, `dump`, a `Mirror` (which is what
/// Swift Testing's `#expect` walks to describe a failing value) — prints `<redacted>`, so a
/// struct that holds secrets in `Secret` fields can keep its default reflection. The value
/// itself is read only through `revealed`, a name that makes every use visible at the call site
/// (`grep -rn '\.revealed'` lists every place a secret leaves its box).
///
/// Equality compares the wrapped values (for configuration comparisons and tests); it is not
/// meant for authenticating anything.
public struct Secret<Value: Sendable>: Sendable {
    private let value: Value

    /// Wraps `value`.
    public init(_ value: Value) {
        self.value = value
    }

    /// The secret value. Read it only where it is used (a key derivation, an `AUTH` command, a
    /// connection string handed to a driver), never to print it.
    public var revealed: Value { value }

    /// What every textual form of a secret prints.
    public static var redacted: String { "<redacted>" }
}

extension Secret: Equatable where Value: Equatable {}

extension Secret: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { Self.redacted }
    public var debugDescription: String { Self.redacted }
}

extension Secret: CustomReflectable, CustomLeafReflectable {
    /// No children, so `dump` and `Mirror`-based printers show only `debugDescription`.
    public var customMirror: Mirror { Mirror(self, children: [Mirror.Child]()) }
}

/// A TOML syntax error with its position in the file.
///
/// `line` and `column` are 1-based. The column counts Unicode scalars (code points) from the start
/// of the line, so a tab, an ASCII letter and an "é" each count as one column; it is not a byte
/// offset. The message never quotes a value from the file (values may be secrets), only keys,
/// single punctuation characters and code points.
public struct TOMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line of the offending character.
    public var line: Int
    /// The 1-based column of the offending character, in Unicode scalars.
    public var column: Int
    /// What was wrong, naming what was expected.
    public var message: String

    /// An error at a 1-based line and column (in Unicode scalars).
    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `line L, column C: message`.
    public var description: String { "line \(line), column \(column): \(message)" }
}

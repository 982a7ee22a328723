import Foundation

/// Where a command writes its lines. The executable uses `terminal`; tests capture.
public struct CommandOutput: Sendable {
    /// Writes one line (no trailing newline in the argument) to standard output.
    public var line: @Sendable (String) -> Void
    /// Writes one line to standard error.
    public var errorLine: @Sendable (String) -> Void

    public init(line: @escaping @Sendable (String) -> Void, errorLine: @escaping @Sendable (String) -> Void) {
        self.line = line
        self.errorLine = errorLine
    }

    /// The process's standard output and standard error.
    public static let terminal = CommandOutput(
        line: { text in FileHandle.standardOutput.write(Data((text + "\n").utf8)) },
        errorLine: { text in FileHandle.standardError.write(Data((text + "\n").utf8)) }
    )
}

import ArgumentParser
import SessionGateCore

/// `sessiongate keygen [--ed25519]`: prints a fresh base64 key and nothing else.
public struct KeygenCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Print a fresh base64 32-byte key for cookie.keys or signing.secret.",
        discussion: "With --ed25519, print a base64 Ed25519 seed for signing.private_key (algorithm = \"EdDSA\")."
    )

    @Flag(name: .customLong("ed25519"), help: "Generate an Ed25519 signing seed instead of a cookie key.")
    public var ed25519 = false

    public init() {}

    public func run() throws {
        execute(random: SystemRandomBytes(), output: .terminal)
    }

    /// Writes one base64 line of 32 bytes from `random`.
    public func execute(random: some RandomBytes, output: CommandOutput) {
        // Any 32 random bytes are a valid Ed25519 seed and a full-strength AEAD key alike.
        output.line(Base64.encode(random.bytes(32)))
    }
}

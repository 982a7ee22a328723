import Crypto

/// A session id: 256 bits from the injected CSPRNG. The id itself lives only inside the sealed
/// cookie; stores index sessions by `storeKey` (SHA-256 of the id) and expose `handle`
/// (a second, domain-separated hash) as the token's `sid`.
public struct SessionID: Sendable, Hashable {
    public static let byteCount = 32
    public let bytes: [UInt8]
    /// SHA-256 of `bytes` when the ticket it came from carried it (`SessionTicket.digest`).
    private let knownDigest: SHA256Digest?
    /// `handle` when the ticket it came from carried it (`SessionTicket.handle`).
    private let knownHandle: String?

    public init?(bytes: [UInt8]) {
        guard bytes.count == SessionID.byteCount else { return nil }
        self.bytes = bytes
        knownDigest = nil
        knownHandle = nil
    }

    /// The id a ticket carries (nil when it is not one), with the ticket's digest and handle if
    /// it has them.
    public init?(ticket: SessionTicket) {
        guard ticket.bytes.count == SessionID.byteCount else { return nil }
        bytes = ticket.bytes
        knownDigest = ticket.digest
        knownHandle = ticket.handle
    }

    /// Ids are their bytes.
    public static func == (lhs: SessionID, rhs: SessionID) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    public static func generate(using random: some RandomBytes) -> SessionID {
        SessionID(bytes: random.bytes(byteCount))!
    }

    /// Lower-case hex of SHA-256(id): the key under which stores keep the session.
    public var storeKey: String {
        digest.withUnsafeBytes { Hex.encode(raw: $0) }
    }

    /// Appends the UTF-8 of `storeKey` to `out` (no `String` on the way).
    public func appendStoreKey(to out: inout [UInt8]) {
        digest.withUnsafeBytes { Hex.append($0, to: &out) }
    }

    /// The 32 bytes `storeKey` spells in hex, for a store that indexes in its own memory.
    public var storeDigest: StoreDigest { StoreDigest(digest) }

    /// SHA-256 of the id: the ticket's when it carried one, else worked out now.
    private var digest: SHA256Digest { knownDigest ?? Self.digest(of: bytes) }

    /// SHA-256 of `bytes` (its one contiguous buffer, not the generic `DataProtocol` walk).
    static func digest(of bytes: [UInt8]) -> SHA256Digest {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize()
    }

    /// SHA-256 already fed the `handle` domain prefix; copied per id.
    private static let handleHasher: SHA256 = {
        var hasher = SHA256()
        hasher.update(data: Array("sessiongate-sid:".utf8))
        return hasher
    }()

    /// A non-secret, stable handle for this id (the `sid` claim): it reveals nothing about
    /// the id or the store key.
    public var handle: String { knownHandle ?? Self.handle(of: bytes) }

    /// `handle` of the id `bytes`: base64url of the first 16 bytes of SHA-256("sessiongate-sid:" + id).
    static func handle(of bytes: [UInt8]) -> String {
        var hasher = Self.handleHasher
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize().withUnsafeBytes { Base64URL.encode(raw: UnsafeRawBufferPointer(rebasing: $0[0..<16])) }
    }
}

/// SHA-256 of a session id as four words: what `SessionID.storeKey` spells in hex, as a
/// dictionary key that hashes and compares without a `String`.
public struct StoreDigest: Hashable, Sendable {
    private let words: SIMD4<UInt64>

    init(_ digest: SHA256Digest) {
        words = digest.withUnsafeBytes { $0.loadUnaligned(as: SIMD4<UInt64>.self) }
    }
}

/// Lower-case hexadecimal.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the lower-case hex of `bytes` to `out`.
    public static func append(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
    }

    /// `encode` of a raw buffer, written straight into the String's storage.
    static func encode(raw bytes: UnsafeRawBufferPointer) -> String {
        digits.withUnsafeBufferPointer { digits in
            String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = digits[Int(byte >> 4)]
                    out[2 * index + 1] = digits[Int(byte & 0x0f)]
                }
                return bytes.count * 2
            }
        }
    }
}

import Crypto

/// A session id: 256 bits from the injected CSPRNG. The id itself lives only inside the sealed
/// cookie; stores index sessions by `storeKey` (SHA-256 of the id) and expose `handle`
/// (a second, domain-separated hash) as the token's `sid`.
public struct SessionID: Sendable, Hashable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == SessionID.byteCount else { return nil }
        self.bytes = bytes
    }

    public static func generate(using random: some RandomBytes) -> SessionID {
        SessionID(bytes: random.bytes(byteCount))!
    }

    /// Lower-case hex of SHA-256(id): the key under which stores keep the session.
    public var storeKey: String {
        Hex.encode(Array(SHA256.hash(data: bytes)))
    }

    /// A non-secret, stable handle for this id (the `sid` claim): it reveals nothing about
    /// the id or the store key.
    public var handle: String {
        var hasher = SHA256()
        hasher.update(data: Array("sessiongate-sid:".utf8))
        hasher.update(data: bytes)
        return Base64URL.encode(Array(hasher.finalize().prefix(16)))
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
}

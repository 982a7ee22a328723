import Crypto
import SessionGateShared

/// The session cookie's AEAD keys: the first key seals, every key opens (so keys can rotate
/// without logging anyone out).
///
/// A sealed value is `base64url(version ‖ kid ‖ nonce ‖ ciphertext ‖ tag)`, sealed with
/// AES-256-GCM. The version byte, the 4-byte key id and the cookie's name are authenticated as
/// additional data, so a value cannot be replayed under another cookie name or re-labelled with
/// another key id. Opening never throws and never crashes: anything wrong (bad base64, too short,
/// unknown key id, failed tag) is `nil`, and the tag check is the AEAD's own constant-time one.
public struct CookieKeyRing: Sendable {
    /// A browser keeps a cookie only if its `Set-Cookie` (name, value and attributes) fits here.
    public static let maxCookieBytes = 4096

    /// Bytes a key must have (AES-256).
    public static let keyByteCount = 32

    static let formatVersion: UInt8 = 1
    static let keyIDByteCount = 4
    static let nonceByteCount = 12
    static let tagByteCount = 16
    static let headerByteCount = 1 + keyIDByteCount
    static let overheadByteCount = headerByteCount + nonceByteCount + tagByteCount

    private let entries: [KeyEntry]

    /// - Parameter keys: raw keys, each exactly 32 bytes, newest first. At least one.
    public init(keys: [[UInt8]]) throws(CookieKeyRingError) {
        guard !keys.isEmpty else { throw CookieKeyRingError(.noKeys) }
        var entries: [KeyEntry] = []
        entries.reserveCapacity(keys.count)
        for (index, key) in keys.enumerated() {
            guard key.count == Self.keyByteCount else {
                throw CookieKeyRingError(.wrongLength(index: index, byteCount: key.count))
            }
            let entry = KeyEntry(key: key)
            if let earlier = entries.firstIndex(where: { $0.keyID == entry.keyID }) {
                throw CookieKeyRingError(.duplicateKeyID(first: earlier, second: index))
            }
            entries.append(entry)
        }
        self.entries = entries
    }

    /// The configured keys (`[cookie] keys`), revealed only to build the ring.
    public init(keys: [Secret<[UInt8]>]) throws(CookieKeyRingError) {
        try self.init(keys: keys.map(\.revealed))
    }

    /// The key id of each key, in ring order (public: it is written in clear in every cookie).
    public var keyIDs: [[UInt8]] { entries.map(\.keyID) }

    /// Seals `plaintext` for the cookie called `cookieName` with the first key and a fresh
    /// nonce drawn from `random`.
    public func seal(_ plaintext: [UInt8], cookieName: String, random: some RandomBytes) -> String {
        let nonceBytes = random.bytes(Self.nonceByteCount)
        precondition(nonceBytes.count == Self.nonceByteCount, "RandomBytes returned the wrong number of bytes")
        let entry = entries[0]
        let header = Self.header(keyID: entry.keyID)
        do {
            let box = try AES.GCM.seal(
                plaintext, using: entry.key.revealed, nonce: AES.GCM.Nonce(data: nonceBytes),
                authenticating: Self.additionalData(header: header, cookieName: cookieName))
            var out = header
            out.reserveCapacity(Self.overheadByteCount + plaintext.count)
            out.append(contentsOf: nonceBytes)
            out.append(contentsOf: box.ciphertext)
            out.append(contentsOf: box.tag)
            return Base64URL.encode(out)
        } catch {
            // Unreachable: the key is 32 bytes and the nonce 12, which is all AES-GCM checks.
            preconditionFailure("AES-GCM rejected a valid key and nonce")
        }
    }

    /// Opens a value sealed by `seal` for the same cookie name with any key of the ring.
    /// Returns nil for anything that is not such a value.
    public func open(_ cookieValue: some StringProtocol, cookieName: String) -> [UInt8]? {
        // A longer value cannot have come from a browser; don't spend work decoding it.
        guard cookieValue.utf8.count <= Self.maxCookieBytes,
            let bytes = Base64URL.decode(cookieValue),
            bytes.count >= Self.overheadByteCount,
            bytes[0] == Self.formatVersion
        else { return nil }
        let keyID = bytes[1..<Self.headerByteCount]
        // Key ids are public (they are in clear in the cookie), so an ordinary lookup is fine;
        // only the matching key is tried.
        guard let entry = entries.first(where: { $0.keyID.elementsEqual(keyID) }) else { return nil }
        var additionalData: [UInt8] = []
        additionalData.reserveCapacity(Self.headerByteCount + cookieName.utf8.count)
        additionalData.append(contentsOf: bytes[0..<Self.headerByteCount])
        additionalData.append(contentsOf: cookieName.utf8)
        do {
            // `nonce ‖ ciphertext ‖ tag` is exactly AES-GCM's combined form.
            let box = try AES.GCM.SealedBox(combined: bytes[Self.headerByteCount...])
            let plaintext = try AES.GCM.open(box, using: entry.key.revealed, authenticating: additionalData)
            return Array(plaintext)
        } catch {
            return nil
        }
    }

    /// Length of the cookie value `seal` produces for a plaintext of `plaintextCount` bytes.
    public static func sealedValueLength(plaintextCount: Int) -> Int {
        let raw = overheadByteCount + plaintextCount
        return (raw * 8 + 5) / 6
    }

    /// Whether a complete `Set-Cookie` header value (`name=value; Path=/; ...`) is small enough
    /// for browsers to keep it.
    public static func fitsBrowserLimit(setCookieHeaderValue: String) -> Bool {
        setCookieHeaderValue.utf8.count <= maxCookieBytes
    }

    private static func header(keyID: [UInt8]) -> [UInt8] {
        [formatVersion] + keyID
    }

    private static func additionalData(header: [UInt8], cookieName: String) -> [UInt8] {
        header + Array(cookieName.utf8)
    }
}

extension CookieKeyRing {
    struct KeyEntry: Sendable {
        let keyID: [UInt8]
        /// In a `Secret` so that printing or dumping a key ring never shows key material.
        let key: Secret<SymmetricKey>

        init(key: [UInt8]) {
            self.keyID = CookieKeyRing.keyID(for: key)
            self.key = Secret(SymmetricKey(data: key))
        }
    }

    /// First 4 bytes of SHA-256("sessiongate-kid:" ‖ key): names a key without revealing it.
    static func keyID(for key: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array("sessiongate-kid:".utf8))
        hasher.update(data: key)
        return Array(hasher.finalize().prefix(keyIDByteCount))
    }
}

/// A cookie key list that cannot be used. The description names the key by position and
/// never shows key material.
public struct CookieKeyRingError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: Sendable, Equatable {
        case noKeys
        case wrongLength(index: Int, byteCount: Int)
        case duplicateKeyID(first: Int, second: Int)
    }

    let code: Code

    init(_ code: Code) { self.code = code }

    public var description: String {
        switch code {
        case .noKeys:
            return "no cookie key: give at least one base64 key of 32 bytes"
        case .wrongLength(let index, let byteCount):
            return "cookie key \(index + 1) has \(byteCount) bytes; it must have exactly 32"
        case .duplicateKeyID(let first, let second):
            return "cookie keys \(first + 1) and \(second + 1) are the same key (or share a key id); list each key once"
        }
    }
}

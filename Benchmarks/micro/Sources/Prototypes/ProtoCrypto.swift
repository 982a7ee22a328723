import Crypto
import SessionGateCore

/// For comparison only (a format change, not a drop-in replacement): `CookieKeyRing`'s layout
/// (`base64url(version ‖ kid ‖ nonce ‖ ciphertext ‖ tag)`, version, kid and cookie name as
/// additional data) sealed with ChaCha20-Poly1305, whose per-call setup has no AES key schedule or
/// GHASH table.
public struct ProtoKeyRing: Sendable {
    struct Entry: Sendable {
        let keyID: [UInt8]
        let key: SymmetricKey
    }

    let entries: [Entry]
    static let overheadByteCount = 5 + 12 + 16

    public init(keys: [[UInt8]]) {
        entries = keys.map { key in
            var hasher = SHA256()
            hasher.update(data: Array("sessiongate-kid:".utf8))
            hasher.update(data: key)
            return Entry(keyID: Array(hasher.finalize().prefix(4)), key: SymmetricKey(data: key))
        }
    }

    public func sealChaCha(_ plaintext: [UInt8], cookieName: String, nonce: [UInt8]) -> String {
        let entry = entries[0]
        var additionalData = [UInt8(1)] + entry.keyID
        additionalData.append(contentsOf: cookieName.utf8)
        let box = try! ChaChaPoly.seal(
            plaintext, using: entry.key, nonce: ChaChaPoly.Nonce(data: nonce), authenticating: additionalData)
        return Base64URL.encode([UInt8(1)] + entry.keyID + Array(box.combined))
    }

    public func openChaCha(_ cookieValue: some StringProtocol, cookieName: String) -> [UInt8]? {
        guard cookieValue.utf8.count <= CookieKeyRing.maxCookieBytes,
            let bytes = Base64URL.decode(cookieValue),
            bytes.count >= Self.overheadByteCount,
            bytes[0] == 1
        else { return nil }
        guard let entry = entries.first(where: { $0.keyID.elementsEqual(bytes[1..<5]) }) else { return nil }
        var additionalData: [UInt8] = []
        additionalData.reserveCapacity(5 + cookieName.utf8.count)
        additionalData.append(contentsOf: bytes[0..<5])
        additionalData.append(contentsOf: cookieName.utf8)
        do {
            let box = try ChaChaPoly.SealedBox(combined: bytes[5...])
            return Array(try ChaChaPoly.open(box, using: entry.key, authenticating: additionalData))
        } catch {
            return nil
        }
    }
}

import Crypto
import SessionGateCore

/// `CookieKeyRing.open` with the same format and result, minus copies: base64url decoded straight
/// from the cookie's UTF-8, the sealed box built from the decoded bytes as they lie
/// (`nonce ‖ ciphertext ‖ tag` is exactly AES-GCM's combined form), one buffer for the AAD.
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

    public func open(_ cookieValue: some StringProtocol, cookieName: String) -> [UInt8]? {
        guard cookieValue.utf8.count <= CookieKeyRing.maxCookieBytes,
            let bytes = FastBase64URL.decode(cookieValue),
            bytes.count >= Self.overheadByteCount,
            bytes[0] == 1
        else { return nil }
        guard
            let entry = entries.first(where: {
                $0.keyID[0] == bytes[1] && $0.keyID[1] == bytes[2] && $0.keyID[2] == bytes[3] && $0.keyID[3] == bytes[4]
            })
        else { return nil }
        var additionalData: [UInt8] = []
        additionalData.reserveCapacity(5 + cookieName.utf8.count)
        additionalData.append(contentsOf: bytes[0..<5])
        additionalData.append(contentsOf: cookieName.utf8)
        do {
            let box = try AES.GCM.SealedBox(combined: bytes[5...])
            return Array(try AES.GCM.open(box, using: entry.key, authenticating: additionalData))
        } catch {
            return nil
        }
    }

    /// For comparison only (a format change): the same layout sealed with ChaCha20-Poly1305,
    /// whose per-call setup has no AES key schedule or GHASH table.
    public func sealChaCha(_ plaintext: [UInt8], cookieName: String, nonce: [UInt8]) -> String {
        let entry = entries[0]
        var additionalData = [UInt8(1)] + entry.keyID
        additionalData.append(contentsOf: cookieName.utf8)
        let box = try! ChaChaPoly.seal(
            plaintext, using: entry.key, nonce: ChaChaPoly.Nonce(data: nonce), authenticating: additionalData)
        let out = [UInt8(1)] + entry.keyID + Array(box.combined)
        return out.withUnsafeBytes { FastBase64URL.encode($0) }
    }

    public func openChaCha(_ cookieValue: some StringProtocol, cookieName: String) -> [UInt8]? {
        guard cookieValue.utf8.count <= CookieKeyRing.maxCookieBytes,
            let bytes = FastBase64URL.decode(cookieValue),
            bytes.count >= Self.overheadByteCount,
            bytes[0] == 1
        else { return nil }
        guard
            let entry = entries.first(where: {
                $0.keyID[0] == bytes[1] && $0.keyID[1] == bytes[2] && $0.keyID[2] == bytes[3] && $0.keyID[3] == bytes[4]
            })
        else { return nil }
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

/// `TokenSigner.sign(claims:)` (HS256) with the same output: the HMAC key schedule (ipad/opad
/// blocks) computed once in init and copied per token, the claims written with `FastJSON`, and
/// base64url appended straight into the token bytes.
public struct ProtoHS256Signer: Sendable {
    let mac: HMAC<SHA256>
    let encodedHeaderAndDot: [UInt8]

    public init(secret: [UInt8], keyID: String) {
        mac = HMAC<SHA256>(key: SymmetricKey(data: secret))
        let header: JSONValue = .object(["alg": "HS256", "kid": .string(keyID), "typ": "JWT"])
        encodedHeaderAndDot = Array(Base64URL.encode(JSONSerializer.serialize(header)).utf8) + [UInt8(ascii: ".")]
    }

    public func sign(claims: TokenClaims) -> String {
        let payload = Self.serialized(claims)
        var token = encodedHeaderAndDot
        token.reserveCapacity(token.count + FastBase64URL.encodedCount(payload.count) + 1 + 43)
        payload.withUnsafeBytes { FastBase64URL.append($0, to: &token) }
        var mac = self.mac
        token.withUnsafeBytes { mac.update(data: $0) }
        let code = mac.finalize()
        token.append(UInt8(ascii: "."))
        code.withUnsafeBytes { FastBase64URL.append($0, to: &token) }
        return String(decoding: token, as: UTF8.self)
    }

    /// Same bytes as `TokenClaims.serialized()`.
    public static func serialized(_ claims: TokenClaims) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(384)
        out.append(contentsOf: #"{"aud":"#.utf8)
        FastJSON.writeString(claims.audience, into: &out)
        out.append(contentsOf: #","data":"#.utf8)
        FastJSON.writeObject(claims.data, into: &out)
        out.append(contentsOf: #","exp":"#.utf8)
        FastJSON.writeInt(claims.expiresAt, into: &out)
        out.append(contentsOf: #","htm":"#.utf8)
        FastJSON.writeString(claims.method, into: &out)
        out.append(contentsOf: #","htu":"#.utf8)
        FastJSON.writeString(claims.path, into: &out)
        out.append(contentsOf: #","iat":"#.utf8)
        FastJSON.writeInt(claims.issuedAt, into: &out)
        out.append(contentsOf: #","iss":"#.utf8)
        FastJSON.writeString(claims.issuer, into: &out)
        out.append(contentsOf: #","sid":"#.utf8)
        FastJSON.writeString(claims.sid, into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// `SessionID.storeKey` / `handle` with one allocation each for the text.
public enum ProtoSessionHashes {
    static let hexDigits = Array("0123456789abcdef".utf8)

    public static func storeKey(_ id: SessionID) -> String {
        let digest = SHA256.hash(data: id.bytes)
        return digest.withUnsafeBytes { bytes in
            hexDigits.withUnsafeBufferPointer { digits in
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

    static let handlePrefix: SHA256 = {
        var hasher = SHA256()
        hasher.update(data: Array("sessiongate-sid:".utf8))
        return hasher
    }()

    public static func handle(_ id: SessionID) -> String {
        var hasher = handlePrefix
        hasher.update(data: id.bytes)
        return hasher.finalize().withUnsafeBytes { FastBase64URL.encode(UnsafeRawBufferPointer(rebasing: $0[0..<16])) }
    }
}

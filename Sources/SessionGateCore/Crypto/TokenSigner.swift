import Crypto
import SessionGateShared

/// The claims of one `X-Session-Token`.
public struct TokenClaims: Sendable, Equatable {
    /// `iss`
    public var issuer: String
    /// `aud`
    public var audience: String
    /// `iat`
    public var issuedAt: UnixSeconds
    /// `exp`
    public var expiresAt: UnixSeconds
    /// `sid`: the session's non-secret handle (`SessionID.handle`), never the id.
    public var sid: String
    /// `data`: the session object.
    public var data: [String: JSONValue]
    /// `htm`: the request method.
    public var method: String
    /// `htu`: the normalised request path, without the query.
    public var path: String

    public init(
        issuer: String, audience: String, issuedAt: UnixSeconds, expiresAt: UnixSeconds, sid: String,
        data: [String: JSONValue], method: String, path: String
    ) {
        self.issuer = issuer
        self.audience = audience
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.sid = sid
        self.data = data
        self.method = method
        self.path = path
    }

    /// The claims as a JSON object, as they appear in the token.
    public var json: JSONValue {
        .object([
            "iss": .string(issuer), "aud": .string(audience), "iat": .int(issuedAt), "exp": .int(expiresAt),
            "sid": .string(sid), "data": .object(data), "htm": .string(method), "htu": .string(path),
        ])
    }

    /// Compact JSON with sorted keys; byte-identical to `JSONSerializer.serialize(json)`, written
    /// directly because it runs on every request.
    func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(384)
        serialize(into: &out)
        return out
    }

    /// Appends `serialized()` to `out`.
    func serialize(into out: inout [UInt8]) {
        out.append(contentsOf: #"{"aud":"#.utf8)
        JSONSerializer.writeString(audience, into: &out)
        out.append(contentsOf: #","data":"#.utf8)
        JSONSerializer.writeObject(data, into: &out)
        out.append(contentsOf: #","exp":"#.utf8)
        JSONSerializer.writeInt(expiresAt, into: &out)
        out.append(contentsOf: #","htm":"#.utf8)
        JSONSerializer.writeString(method, into: &out)
        out.append(contentsOf: #","htu":"#.utf8)
        JSONSerializer.writeString(path, into: &out)
        out.append(contentsOf: #","iat":"#.utf8)
        JSONSerializer.writeInt(issuedAt, into: &out)
        out.append(contentsOf: #","iss":"#.utf8)
        JSONSerializer.writeString(issuer, into: &out)
        out.append(contentsOf: #","sid":"#.utf8)
        JSONSerializer.writeString(sid, into: &out)
        out.append(UInt8(ascii: "}"))
    }
}

/// Signs `X-Session-Token`s: JWS compact serialisation, header `{"alg","kid","typ":"JWT"}`,
/// with HS256 (the secret's bytes as the HMAC key) or EdDSA (Ed25519, RFC 8037).
///
/// Everything that does not depend on the request (keys, the encoded header, the JWKS) is
/// computed once in `init`.
public struct TokenSigner: Sendable {
    /// `kid` of the signing key. EdDSA: the RFC 7638 thumbprint of the public JWK.
    /// HS256: base64url of the first 8 bytes of HMAC-SHA256(secret, "sessiongate-kid"),
    /// which names the secret without revealing it.
    public let keyID: String
    /// The JWK Set to publish at `/.well-known/jwks.json`: the Ed25519 public key for EdDSA,
    /// `{"keys":[]}` for HS256 (a shared secret is never published).
    public let jwks: JSONValue
    /// The algorithm, as written in the token's `alg`.
    public let algorithm: ProxyConfig.Algorithm

    /// In a `Secret` so that printing or dumping a signer never shows key material.
    private let key: Secret<SigningKey>
    private let issuer: String
    private let audience: String
    private let ttl: Int64
    /// `base64url(header) + "."`
    private let encodedHeaderAndDot: [UInt8]

    private enum SigningKey: Sendable {
        /// Keyed once (the ipad/opad blocks), copied per token.
        case hmac(PrekeyedHMAC)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    /// HS256 secrets shorter than this are refused (RFC 7518 §3.2: at least the hash size).
    public static let minimumSecretByteCount = 32
    /// An Ed25519 seed has exactly this many bytes.
    public static let ed25519SeedByteCount = 32

    public init(config: ProxyConfig.Signing) throws(TokenSignerError) {
        switch config.algorithm {
        case .hs256:
            guard let secret = config.secret?.revealed else { throw TokenSignerError(.missingSecret) }
            guard secret.count >= Self.minimumSecretByteCount else {
                throw TokenSignerError(.secretTooShort(byteCount: secret.count))
            }
            let keyed = PrekeyedHMAC(key: secret)
            let keyIDMAC = Array("sessiongate-kid".utf8).withUnsafeBytes { keyed.authenticationCode(for: $0) }
            key = Secret(.hmac(keyed))
            keyID = Base64URL.encode(Array(keyIDMAC).prefix(8))
            jwks = .object(["keys": .array([])])
        case .edDSA:
            guard let seed = config.privateKey?.revealed else { throw TokenSignerError(.missingPrivateKey) }
            guard seed.count == Self.ed25519SeedByteCount,
                let privateKey = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            else { throw TokenSignerError(.privateKeyWrongLength(byteCount: seed.count)) }
            let x = Base64URL.encode(Array(privateKey.publicKey.rawRepresentation))
            key = Secret(.ed25519(privateKey))
            keyID = Self.okpThumbprint(x: x)
            jwks = .object([
                "keys": .array([
                    .object([
                        "kty": "OKP", "crv": "Ed25519", "x": .string(x), "kid": .string(keyID), "alg": "EdDSA",
                        "use": "sig",
                    ])
                ])
            ])
        }
        algorithm = config.algorithm
        issuer = config.issuer
        audience = config.audience
        ttl = config.ttl
        let header: JSONValue = .object([
            "alg": .string(config.algorithm.rawValue), "kid": .string(keyID), "typ": "JWT",
        ])
        encodedHeaderAndDot = Array(Base64URL.encode(JSONSerializer.serialize(header)).utf8) + [UInt8(ascii: ".")]
    }

    /// The compact JWS of `claims`.
    public func sign(claims: TokenClaims) -> String {
        var token: [UInt8] = []
        var payload: [UInt8] = []
        appendToken(for: claims, to: &token, payloadScratch: &payload)
        return String(decoding: token, as: UTF8.self)
    }

    /// Appends the compact JWS of `claims` (ASCII) to `token`, as `sign(claims:)` spells it.
    /// `payload` is scratch space for the claims' JSON: cleared first, its capacity kept, so a
    /// caller that keeps both arrays signs without allocating.
    public func appendToken(for claims: TokenClaims, to token: inout [UInt8], payloadScratch payload: inout [UInt8]) {
        payload.removeAll(keepingCapacity: true)
        claims.serialize(into: &payload)
        let start = token.count
        // An Ed25519 signature (64 bytes) is the longest.
        token.reserveCapacity(
            start + encodedHeaderAndDot.count + Base64URL.encodedCount(payload.count) + 1 + Base64URL.encodedCount(64))
        token.append(contentsOf: encodedHeaderAndDot)
        payload.withUnsafeBytes { Base64URL.append($0, to: &token) }
        switch key.revealed {
        case .hmac(let keyed):
            let code = token.withUnsafeBytes { keyed.authenticationCode(for: UnsafeRawBufferPointer(rebasing: $0[start...])) }
            token.append(UInt8(ascii: "."))
            code.withUnsafeBytes { Base64URL.append($0, to: &token) }
        case .ed25519:
            let signature = signature(forSigningInput: Array(token[start...]))
            token.append(UInt8(ascii: "."))
            signature.withUnsafeBytes { Base64URL.append($0, to: &token) }
        }
    }

    /// The token for a request at `now`, with the configured issuer, audience and ttl.
    public func sign(
        sid: String, data: [String: JSONValue], method: String, path: String, now: UnixSeconds
    ) -> String {
        sign(
            claims: TokenClaims(
                issuer: issuer, audience: audience, issuedAt: now, expiresAt: now + ttl, sid: sid, data: data,
                method: method, path: path))
    }

    /// The raw JWS signature of an already encoded signing input (`header.payload`); exposed
    /// to the package so published test vectors can be checked byte for byte.
    package func signature(forSigningInput signingInput: [UInt8]) -> [UInt8] {
        switch key.revealed {
        case .hmac(let keyed):
            return Array(signingInput.withUnsafeBytes { keyed.authenticationCode(for: $0) })
        case .ed25519(let privateKey):
            do {
                return Array(try privateKey.signature(for: signingInput))
            } catch {
                // Unreachable: signing with a valid Ed25519 key has no failure mode.
                preconditionFailure("Ed25519 signing failed")
            }
        }
    }

    /// RFC 7638 thumbprint of an Ed25519 public JWK: base64url(SHA-256 of its required members
    /// in lexicographic order, no whitespace).
    static func okpThumbprint(x: String) -> String {
        let canonical = #"{"crv":"Ed25519","kty":"OKP","x":""# + x + #""}"#
        return Base64URL.encode(Array(SHA256.hash(data: Array(canonical.utf8))))
    }
}

/// A `[signing]` section the signer cannot use. The description names the key and never
/// contains secret material.
public struct TokenSignerError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: Sendable, Equatable {
        case missingSecret
        case secretTooShort(byteCount: Int)
        case missingPrivateKey
        case privateKeyWrongLength(byteCount: Int)
    }

    let code: Code

    init(_ code: Code) { self.code = code }

    public var description: String {
        switch code {
        case .missingSecret:
            return "signing.secret is required for algorithm HS256"
        case .secretTooShort(let byteCount):
            return "signing.secret has \(byteCount) bytes; HS256 needs at least 32"
        case .missingPrivateKey:
            return "signing.private_key is required for algorithm EdDSA (base64 of a 32-byte Ed25519 seed)"
        case .privateKeyWrongLength(let byteCount):
            return "signing.private_key has \(byteCount) bytes; an Ed25519 seed has exactly 32"
        }
    }
}

import Crypto
import FuzzSupport
import SessionGateCore

// `X-Session-Token` signing with session data of any shape. Input layout:
// flags(1: bit 0 = EdDSA) iat(8) exp(8) method(len+bytes) path(len+bytes) sid(len+bytes) data(rest).
// The data is the rest parsed as JSON (an object is the session; anything else is wrapped), or,
// when it is not JSON, the raw text under a key and as a key.

private let secret = Array("fuzzing secret: at least 32 bytes, HS256".utf8)
private let seed = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 7) }

private let hs256: TokenSigner = {
    var config = ProxyConfig.Signing()
    config.algorithm = .hs256
    config.secret = Secret(secret)
    return try! TokenSigner(config: config)
}()

private let edDSA: TokenSigner = {
    var config = ProxyConfig.Signing()
    config.algorithm = .edDSA
    config.privateKey = Secret(seed)
    return try! TokenSigner(config: config)
}()

private let edDSAPublicKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: seed).publicKey
private let urlAlphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

private func sessionData(_ bytes: [UInt8]) -> [String: JSONValue] {
    if let value = try? JSONParser.parse(bytes, maxDepth: 64) {
        if case .object(let members) = value { return members }
        return ["value": value]
    }
    let text = String(decoding: bytes, as: UTF8.self)
    var members: [String: JSONValue] = ["raw": .string(text)]
    members[text] = .array([.string(text), .int(Int64(bytes.count))])
    return members
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzToken(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let useEdDSA = input.bool()
    let issuedAt = input.int64()
    let expiresAt = input.int64()
    let method = input.lengthPrefixedString()
    let path = input.lengthPrefixedString()
    let sid = input.lengthPrefixedString()
    let session = sessionData(input.rest())
    let signer = useEdDSA ? edDSA : hs256
    let claims = TokenClaims(
        issuer: "sessiongate", audience: "upstream", issuedAt: issuedAt, expiresAt: expiresAt, sid: sid,
        data: session, method: method, path: path)

    let token = signer.sign(claims: claims)

    // Three base64url parts, safe to send as a header value.
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    check(parts.count == 3, "token has \(parts.count) parts")
    for part in parts {
        check(!part.isEmpty && part.utf8.allSatisfy(urlAlphabet.contains), "a token part is not base64url")
    }
    guard let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
        let signature = Base64URL.decode(parts[2])
    else {
        check(false, "a token part does not decode")
        return 0
    }

    // Header: exactly alg, kid, typ.
    let header = try? JSONParser.parse(headerBytes)
    let expectedHeader: JSONValue = .object([
        "alg": .string(useEdDSA ? "EdDSA" : "HS256"), "kid": .string(signer.keyID), "typ": "JWT",
    ])
    check(header == expectedHeader, "unexpected header \(describe(headerBytes))")

    // Payload: byte-identical to the generic serializer, and it parses back to the same claims.
    check(payloadBytes == JSONSerializer.serialize(claims.json), "payload differs from JSONSerializer's output")
    let payload: JSONValue
    do {
        payload = try JSONParser.parse(payloadBytes, maxDepth: 66, maxBytes: Int.max)
    } catch {
        check(false, "payload is not JSON (\(error)): \(describe(payloadBytes))")
        return 0
    }
    check(sameJSON(payload["data"] ?? .null, .object(session)), "data changed on the way into the token")
    check(payload["htm"] == .string(method), "htm differs")
    check(payload["htu"] == .string(path), "htu differs")
    check(payload["sid"] == .string(sid), "sid differs")
    check(payload["iat"] == .int(issuedAt) && payload["exp"] == .int(expiresAt), "iat or exp differs")
    check(payload["iss"] == "sessiongate" && payload["aud"] == "upstream", "iss or aud differs")
    check(payload.objectValue?.count == 8, "payload has other members")

    // Signature over `header.payload`.
    let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
    if useEdDSA {
        check(edDSAPublicKey.isValidSignature(signature, for: signingInput), "EdDSA signature does not verify")
    } else {
        let mac = HMAC<SHA256>.authenticationCode(for: signingInput, using: SymmetricKey(data: secret))
        check(Array(mac) == signature, "HS256 signature does not verify")
    }
    return 0
}

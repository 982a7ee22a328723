import Crypto
import Foundation
import Testing

@testable import SessionGateCore

private let hmacSecret = "correct horse battery staple, 32+ bytes long"

private func hs256Config(secret: String = hmacSecret) -> ProxyConfig.Signing {
    var config = ProxyConfig.Signing()
    config.algorithm = .hs256
    config.secret = Secret(Array(secret.utf8))
    config.issuer = "sessiongate-test"
    config.audience = "upstream-test"
    config.ttl = 60
    return config
}

private func edDSAConfig(seed: [UInt8] = (0..<32).map { UInt8($0 &* 7 &+ 3) }) -> ProxyConfig.Signing {
    var config = hs256Config()
    config.algorithm = .edDSA
    config.secret = nil
    config.privateKey = Secret(seed)
    return config
}

private let sampleClaims = TokenClaims(
    issuer: "sessiongate-test", audience: "upstream-test", issuedAt: 1_700_000_000, expiresAt: 1_700_000_060,
    sid: "c2lkLWhhbmRsZQ",
    data: [
        "user_id": "alice", "role": ["admin", "ops"], "n": 42, "ratio": 0.5, "ok": true, "none": nil,
        "text": "quote \" backslash \\ newline \n é 🍪 \u{2028}",
    ],
    method: "POST", path: "/admin/x")

/// The single JWK a signer publishes.
private func publishedKey(of signer: TokenSigner) throws -> JSONValue {
    guard case .array(let keys)? = signer.jwks["keys"] else { throw JWKSShapeError() }
    return try #require(keys.count == 1 ? keys.first : nil)
}

private struct JWKSShapeError: Error {}

/// The three dot-separated parts of a compact JWS, decoded.
private struct DecodedToken {
    let header: JSONValue
    let payload: JSONValue
    let signingInput: [UInt8]
    let signature: [UInt8]

    init(_ token: String) throws {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        try #require(parts.count == 3)
        header = try JSONParser.parse(try #require(Base64URL.decode(parts[0])))
        payload = try JSONParser.parse(try #require(Base64URL.decode(parts[1])))
        signingInput = Array("\(parts[0]).\(parts[1])".utf8)
        signature = try #require(Base64URL.decode(parts[2]))
    }
}

@Suite struct TokenSignerTests {
    // MARK: Published vectors

    /// RFC 7515 Appendix A.1: HS256 with the JWK `k` below over the RFC's signing input.
    @Test func rfc7515AppendixA1HS256() throws {
        var config = hs256Config()
        let rfcKey = try #require(
            Base64URL.decode(
                "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"))
        config.secret = Secret(rfcKey)
        let signer = try TokenSigner(config: config)
        let signingInput =
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
            + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        let signature = signer.signature(forSigningInput: Array(signingInput.utf8))
        #expect(Base64URL.encode(signature) == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    }

    /// RFC 8037 Appendix A.1-A.4: the seed gives the public key `x` (A.2), whose thumbprint
    /// is the `kid` (A.3), and the RFC's signature over "Example of Ed25519 signing" verifies (A.4).
    @Test func rfc8037AppendixAEd25519() throws {
        let seed = try #require(Base64URL.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"))
        let signer = try TokenSigner(config: edDSAConfig(seed: seed))
        let jwk = try publishedKey(of: signer)
        #expect(jwk["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        #expect(signer.keyID == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")

        let signingInput = Array("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".utf8)
        let rfcSignature = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        let publicKey = try Curve25519.Signing.PublicKey(
            rawRepresentation: try #require(Base64URL.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")))
        #expect(publicKey.isValidSignature(try #require(Base64URL.decode(rfcSignature)), for: signingInput))

        let ours = signer.signature(forSigningInput: signingInput)
        #expect(publicKey.isValidSignature(ours, for: signingInput))
        #if !canImport(CryptoKit)
            // BoringSSL's Ed25519 is the deterministic RFC 8032 one; CryptoKit randomises.
            #expect(Base64URL.encode(ours) == rfcSignature)
        #endif
    }

    // MARK: Token shape

    @Test func hs256TokenHasTheContractHeaderClaimsAndAValidMAC() throws {
        let signer = try TokenSigner(config: hs256Config())
        let decoded = try DecodedToken(signer.sign(claims: sampleClaims))
        #expect(decoded.header == ["alg": "HS256", "kid": .string(signer.keyID), "typ": "JWT"])
        #expect(decoded.payload == sampleClaims.json)
        #expect(
            decoded.payload
                == [
                    "iss": "sessiongate-test", "aud": "upstream-test", "iat": 1_700_000_000, "exp": 1_700_000_060,
                    "sid": "c2lkLWhhbmRsZQ", "data": .object(sampleClaims.data), "htm": "POST", "htu": "/admin/x",
                ])
        let expectedMAC = HMAC<SHA256>.authenticationCode(
            for: decoded.signingInput, using: SymmetricKey(data: Array(hmacSecret.utf8)))
        #expect(decoded.signature == Array(expectedMAC))
    }

    @Test func edDSATokenVerifiesWithThePublishedKey() throws {
        let signer = try TokenSigner(config: edDSAConfig())
        let decoded = try DecodedToken(signer.sign(claims: sampleClaims))
        #expect(decoded.header == ["alg": "EdDSA", "kid": .string(signer.keyID), "typ": "JWT"])
        #expect(decoded.payload == sampleClaims.json)
        let jwk = try publishedKey(of: signer)
        #expect(jwk["kty"] == "OKP" && jwk["crv"] == "Ed25519" && jwk["alg"] == "EdDSA" && jwk["use"] == "sig")
        #expect(jwk["kid"] == .string(signer.keyID))
        #expect(jwk["d"] == nil)
        let x = try #require(jwk["x"]?.stringValue.flatMap(Base64URL.decode))
        let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: x)
        #expect(publicKey.isValidSignature(decoded.signature, for: decoded.signingInput))
        var tampered = decoded.signingInput
        tampered[tampered.count - 1] ^= 1
        #expect(!publicKey.isValidSignature(decoded.signature, for: tampered))
    }

    @Test func payloadBytesMatchTheSharedSerializer() {
        #expect(sampleClaims.serialized() == JSONSerializer.serialize(sampleClaims.json))
        let empty = TokenClaims(
            issuer: "", audience: "", issuedAt: -1, expiresAt: 0, sid: "", data: [:], method: "", path: "")
        #expect(empty.serialized() == JSONSerializer.serialize(empty.json))
    }

    /// `appendToken` (what the proxy calls, with arrays it keeps) writes after what the array
    /// held, the same bytes `sign(claims:)` returns, whatever the scratch held before.
    @Test func appendTokenWritesAfterExistingBytesAndClearsTheScratch() throws {
        for config in [hs256Config(), edDSAConfig()] {
            let signer = try TokenSigner(config: config)
            var other = sampleClaims
            other.data = ["user_id": "bob"]
            other.path = "/"
            var token = Array("X-Session-Token: ".utf8)
            var payload = Array(repeating: UInt8(ascii: "!"), count: 3000)
            for claims in [sampleClaims, other, sampleClaims] {
                token.removeSubrange(17...)
                signer.appendToken(for: claims, to: &token, payloadScratch: &payload)
                #expect(Array(token[..<17]) == Array("X-Session-Token: ".utf8))
                let appended = String(decoding: token[17...], as: UTF8.self)
                #expect(payload == claims.serialized())
                if config.algorithm == .hs256 {
                    #expect(appended == signer.sign(claims: claims))
                } else {
                    #expect(try DecodedToken(appended).payload == claims.json)
                }
            }
        }
    }

    @Test func conveniencesUseTheConfiguredIssuerAudienceAndTTL() throws {
        let signer = try TokenSigner(config: hs256Config())
        let token = signer.sign(sid: "h", data: ["a": 1], method: "GET", path: "/x", now: 1_000)
        let decoded = try DecodedToken(token)
        #expect(decoded.payload["iss"] == "sessiongate-test")
        #expect(decoded.payload["aud"] == "upstream-test")
        #expect(decoded.payload["iat"] == 1_000)
        #expect(decoded.payload["exp"] == 1_060)
        #expect(decoded.payload["htm"] == "GET" && decoded.payload["htu"] == "/x" && decoded.payload["sid"] == "h")
    }

    // MARK: Keys and kid

    @Test func hs256PublishesNoKeysAndItsKidHidesTheSecret() throws {
        let signer = try TokenSigner(config: hs256Config())
        #expect(signer.jwks == ["keys": []])
        #expect(!signer.keyID.isEmpty && !hmacSecret.contains(signer.keyID))
        #expect(!JSONSerializer.string(signer.jwks).contains("horse"))
        // Stable for one secret, different for another.
        #expect(try TokenSigner(config: hs256Config()).keyID == signer.keyID)
        #expect(try TokenSigner(config: hs256Config(secret: hmacSecret + "!")).keyID != signer.keyID)
        // As documented: base64url of the first 8 bytes of HMAC-SHA256(secret, "sessiongate-kid").
        let documented = HMAC<SHA256>.authenticationCode(
            for: Array("sessiongate-kid".utf8), using: SymmetricKey(data: Array(hmacSecret.utf8)))
        #expect(signer.keyID == Base64URL.encode(Array(documented).prefix(8)))
    }

    @Test func edDSAKidIsStablePerKey() throws {
        let first = try TokenSigner(config: edDSAConfig())
        #expect(try TokenSigner(config: edDSAConfig()).keyID == first.keyID)
        let other = try TokenSigner(config: edDSAConfig(seed: [UInt8](repeating: 9, count: 32)))
        #expect(other.keyID != first.keyID)
    }

    @Test func unusableSigningConfigsAreRejectedWithoutShowingSecrets() {
        var missing = hs256Config()
        missing.secret = nil
        let short = hs256Config(secret: "0123456789012345678901234567890")
        var noSeed = edDSAConfig()
        noSeed.privateKey = nil
        for (config, expectedText) in [
            (missing, "signing.secret"), (short, "31 bytes"), (noSeed, "signing.private_key"),
            (edDSAConfig(seed: [UInt8](repeating: 0x41, count: 31)), "31 bytes"),
            (edDSAConfig(seed: [UInt8](repeating: 0x41, count: 64)), "64 bytes"),
        ] {
            do {
                _ = try TokenSigner(config: config)
                Issue.record("accepted: \(expectedText)")
            } catch {
                #expect(error.description.contains(expectedText))
                #expect(!error.description.contains("0123456789") && !error.description.contains("AAAA"))
            }
        }
        #expect(throws: Never.self) { try TokenSigner(config: hs256Config(secret: String(repeating: "k", count: 32))) }
    }

    // MARK: Independent implementation (joserfc)

    @Test func tokensVerifyWithJoserfc() throws {
        let hs256 = try TokenSigner(config: hs256Config())
        let edDSA = try TokenSigner(config: edDSAConfig())
        let hsToken = hs256.sign(claims: sampleClaims)
        let edToken = edDSA.sign(claims: sampleClaims)
        let output = try runVerifier(cases: [
            ["token": .string(hsToken), "secret": .string(hmacSecret)],
            ["token": .string(edToken), "jwks": edDSA.jwks],
        ])
        let results = try #require(output.status == 0 ? output.results : nil, "verifier failed: \(output.stderr)")
        try #require(results.count == 2)
        for (result, signer) in zip(results, [hs256, edDSA]) {
            #expect(result["claims"] == sampleClaims.json)
            #expect(result["header"]?["kid"] == .string(signer.keyID))
            #expect(result["header"]?["alg"] == .string(signer.algorithm.rawValue))
            #expect(result["header"]?["typ"] == "JWT")
        }
    }

    /// Guards the guard: the verifier must refuse what it should, or the test above proves nothing.
    @Test func joserfcRejectsBadTokens() throws {
        let hs256 = try TokenSigner(config: hs256Config())
        let edDSA = try TokenSigner(config: edDSAConfig())
        let otherEdDSA = try TokenSigner(config: edDSAConfig(seed: [UInt8](repeating: 5, count: 32)))
        var expired = sampleClaims
        expired.expiresAt = 1_699_999_999
        var wrongAudience = sampleClaims
        wrongAudience.audience = "someone-else"
        let hsToken = hs256.sign(claims: sampleClaims)
        var promoted = sampleClaims
        promoted.data["role"] = "superuser"
        // Valid JSON payload of other claims under the original signature.
        let hsParts = hsToken.split(separator: ".")
        let promotedParts = hs256.sign(claims: promoted).split(separator: ".")
        let tamperedPayload = [hsParts[0], promotedParts[1], hsParts[2]].joined(separator: ".")
        let badCases: [(String, JSONValue)] = [
            ("wrong secret", ["token": .string(hsToken), "secret": .string(hmacSecret + "x")]),
            ("tampered payload", ["token": .string(tamperedPayload), "secret": .string(hmacSecret)]),
            ("expired", ["token": .string(hs256.sign(claims: expired)), "secret": .string(hmacSecret)]),
            ("wrong audience", ["token": .string(hs256.sign(claims: wrongAudience)), "secret": .string(hmacSecret)]),
            ("other key", ["token": .string(otherEdDSA.sign(claims: sampleClaims)), "jwks": edDSA.jwks]),
        ]
        // The same run with a good token passes, so a failure below is the token's fault.
        let control = try runVerifier(cases: [["token": .string(hsToken), "secret": .string(hmacSecret)]])
        try #require(control.status == 0, "verifier failed on a good token: \(control.stderr)")
        for (name, badCase) in badCases {
            let output = try runVerifier(cases: [badCase])
            #expect(output.status == 1 && output.stderr.hasPrefix("token 0:"), "joserfc accepted: \(name)")
        }
    }
}

// MARK: - Running scripts/verify_jwt.py

private struct VerifierOutput {
    let status: Int32
    let results: [JSONValue]?
    let stderr: String
}

private func runVerifier(cases: [JSONValue]) throws -> VerifierOutput {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let request: JSONValue = [
        "issuer": "sessiongate-test", "audience": "upstream-test", "now": 1_700_000_030, "cases": .array(cases),
    ]
    let run = try runPython3(
        [root.appendingPathComponent("scripts/verify_jwt.py").path], input: Data(JSONSerializer.serialize(request)))
    var results: [JSONValue]? = nil
    if run.status == 0, case .array(let list)? = try JSONParser.parse(Array(run.stdout))["results"] {
        results = list
    }
    return VerifierOutput(status: run.status, results: results, stderr: run.stderr)
}

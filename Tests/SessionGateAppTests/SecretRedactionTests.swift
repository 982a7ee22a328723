import Foundation
import SessionGateApp
import SessionGateCore
import Testing

/// Issue 12 item 4: no textual form of a configuration shows a secret.
@Suite("Secret redaction")
struct SecretRedactionTests {
    static let cookieKey = [UInt8](repeating: 0x5a, count: 32)
    static let oldCookieKey = [UInt8](repeating: 0x3c, count: 32)
    static let signingSecret = "hs256-signing-secret-0123456789abcdefXYZ"
    static let seed = (0..<32).map { UInt8($0 &* 7 &+ 3) }
    static let storePassword = "st0re-pa55word-QQQ"

    /// Every way a secret could be spelt in a printout: raw text, base64, base64url, hex and the
    /// Swift array of its bytes.
    static var forbidden: [String] {
        let byteSecrets = [cookieKey, oldCookieKey, seed, Array(signingSecret.utf8)]
        var spellings = [signingSecret, storePassword, "st0re-pa55word"]
        for bytes in byteSecrets {
            spellings.append(Base64.encode(bytes))
            spellings.append(Base64URL.encode(bytes))
            spellings.append(bytes.map { String(format: "%02x", $0) }.joined())
            spellings.append("\(bytes)")
            spellings.append(bytes.prefix(8).map(String.init).joined(separator: ", "))
        }
        return spellings
    }

    /// A configuration loaded from TOML with every secret field set, then given the EdDSA seed too
    /// (a real file has one or the other).
    static func fullConfig() throws -> ProxyConfig {
        let toml = """
            [server]
            listen = "127.0.0.1:18080"

            [upstream]
            url = "http://127.0.0.1:13000"

            [cookie]
            name = "visible-cookie-name"
            keys = ["${K1}", "${K2}"]

            [store]
            backend = "redis"
            url = "redis://app-user:${STORE_PASSWORD}@redis.example:6380/2"

            [signing]
            secret = "${SIGNING_SECRET}"
            issuer = "visible-issuer"
            """
        let environment = [
            "K1": Base64.encode(cookieKey), "K2": Base64.encode(oldCookieKey), "SIGNING_SECRET": signingSecret,
            "STORE_PASSWORD": storePassword,
        ]
        var config = try Fixture.config(toml, environment: environment)
        config.signing.privateKey = Secret(seed)
        return config
    }

    static func renderings(of value: some Any) -> [String: String] {
        var dumped = ""
        dump(value, to: &dumped)
        return ["interpolation": "\(value)", "reflecting": String(reflecting: value), "dump": dumped]
    }

    @Test func configPrintsNoSecretButItsOtherValues() throws {
        let config = try Self.fullConfig()
        // The secrets really are there (so a leak would show).
        #expect(config.cookie.keys.map(\.revealed) == [Self.cookieKey, Self.oldCookieKey])
        #expect(config.store.url?.revealed.contains(Self.storePassword) == true)
        #expect(config.signing.secret?.revealed == Array(Self.signingSecret.utf8))
        for (form, text) in Self.renderings(of: config) {
            for secret in Self.forbidden {
                #expect(!text.contains(secret), "\(form) of the config shows a secret")
            }
            for visible in ["visible-cookie-name", "visible-issuer", "18080", "13000", "<redacted>"] {
                #expect(text.contains(visible), "\(form) of the config lacks \(visible)")
            }
            #expect(!text.contains("redis.example"), "\(form): the store URL is redacted whole")
        }
    }

    @Test func secretPrintsRedactedInEveryForm() {
        let secret = Secret("plain-text-secret")
        for (form, text) in Self.renderings(of: secret) {
            #expect(!text.contains("plain-text-secret"), "\(form)")
            #expect(text.contains("<redacted>"), "\(form)")
        }
        #expect(Mirror(reflecting: secret).children.isEmpty)
        #expect(secret.revealed == "plain-text-secret")
        #expect(secret == Secret("plain-text-secret") && secret != Secret("other"))
        let optional: Secret<[UInt8]>? = Secret(Self.seed)
        #expect(String(reflecting: optional) == "Optional(<redacted>)")
    }

    @Test func keyRingAndSignerPrintNoKeyMaterial() throws {
        let config = try Self.fullConfig()
        let ring = try CookieKeyRing(keys: config.cookie.keys)
        let hmacSigner = try TokenSigner(config: config.signing)
        var edSigning = config.signing
        edSigning.algorithm = .edDSA
        let edSigner = try TokenSigner(config: edSigning)
        for value in [ring, hmacSigner, edSigner] as [Any] {
            for (form, text) in Self.renderings(of: value) {
                for secret in Self.forbidden { #expect(!text.contains(secret), "\(form) of \(type(of: value))") }
            }
        }
    }
}

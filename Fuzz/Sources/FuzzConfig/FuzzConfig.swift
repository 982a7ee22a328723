import FuzzSupport
import SessionGateCore

// The configuration loader on parsed documents of any shape (the TOML reader is fuzzed
// separately). The input drives a generator that mostly writes known sections, keys and
// plausible values, so the fuzzer reaches the cross-field rules, not just "unknown key".

private let sections: [String: [String]] = [
    "server": [
        "listen", "admin_listen", "trusted_proxies", "max_header_bytes", "max_body_bytes", "header_timeout",
        "idle_timeout", "drain_timeout", "via", "upgrades", "body_timeout",
    ],
    "upstream": ["url", "connect_timeout", "response_timeout", "max_idle_connections"],
    "cookie": ["name", "secure", "same_site", "keys", "domain", "path"],
    "session": ["idle_timeout", "absolute_timeout", "touch_interval", "user_key", "max_lifetime", "max_data_bytes"],
    "store": ["backend", "url", "cluster", "path", "timeout"],
    "signing": ["algorithm", "secret", "private_key", "ttl", "issuer", "audience"],
    "log": ["format", "level"],
    "routes": ["default", "login_url", "cross_origin_protection", "trusted_origins", "case_sensitive"],
    "inject": ["X-User-Id", "x_user.id", "X-Session-Token", "Host", "X-Forwarded-For", "X-Role"],
]
private let routeKeys = ["path", "methods", "access", "require", "unauthenticated", "login_url"]

private let plainStrings = [
    "", " ", "127.0.0.1:8080", "0.0.0.0:0", "[::1]:9090", "[::1]", "localhost:65536", "host:-1", ":80",
    "http://127.0.0.1:3000", "http://app:3000/base/", "http://[::1]:8080/a/../b", "https://app", "http://u:p@h",
    "redis://127.0.0.1:6379/0", "rediss://h", "postgres://u@h/db", "sqlite.db", "./sessions.db", "/abs/",
    "1s", "500ms", "30m", "1h30m", "7d", "0s", "1s1h", "99999999999d", "10", "-5s", "1.5s", "1S",
    "__Host-session", "__Secure-s", "session", "bad name", "example.com", ".com", "/", "/app", "/a;b",
    "lax", "strict", "none", "Lax", "memory", "cookie", "redis", "postgres", "sqlite", "HS256", "EdDSA", "hs256",
    "json", "text", "info", "trace", "public", "session", "deny", "auto", "401", "redirect",
    "/login", "//evil.com", "https://auth.example.com/login", "/\\evil", "/admin/**", "/a/*/b", "/**/x", "/a/./b",
    "/%2e%2e/x", "/a?b", "GET", "post", "*", "G T", "user_id", "role", "admin", "10.0.0.0/8", "::1", "fd00::/8",
    "300.1.1.1", "10.0.0.0/33", "websocket", "WebSocket", "h2c", "H2C", "web socket", "https://app.example.com",
    "HTTP://App.Example.com:80", "https://a.example/path", "http://[::1]:8080", "null", "${SESSIONGATE_KEY}",
    "${MISSING}", "${", "${1BAD}", "$$literal", "$", "${PORT}",
]
/// Values placed only where secrets go; no issue message may ever contain them.
private let secrets = [
    "c2VjcmV0LWtleS1tYXRlcmlhbC0xMjM0NTY3ODkwMTI=",  // base64 of 32 bytes
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",  // base64 of bytes 0...31
    "dG9vLXNob3J0LXNlY3JldA==",  // base64 of 16 bytes
    "not-base64-but-a-secret!!",
    "hs256-secret-that-is-long-enough-0123456789",
    "short-secret-123",
    "redis://:hunter2-password@127.0.0.1:6379/0",
    "postgres://user:hunter2-password@db:5432/x",
    "redis://:hunter2-password@",
    "hunter2-password://x",
]
private let environment = [
    "SESSIONGATE_KEY": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=", "PORT": "8080", "EMPTY": "",
]

private struct Generator {
    var input: FuzzInput
    var usedSecrets: [String] = []

    mutating func string() -> String {
        input.byte() < 200 ? input.pick(plainStrings) : input.lengthPrefixedString()
    }

    mutating func secret() -> ConfigNode {
        if input.byte() < 40 { return value(depth: 1) }
        let text = input.pick(secrets)
        usedSecrets.append(text)
        return .string(text)
    }

    mutating func value(depth: Int) -> ConfigNode {
        switch input.byte() % 12 {
        case 0...4: return .string(string())
        case 5: return .integer(input.pick([0, 1, -1, 64, 401, 16384, 65536, Int64.max, Int64.min, input.int64()]))
        case 6: return .double(input.pick([0, 1.5, -0.0, .infinity, .nan, 1e300]))
        case 7: return .bool(input.bool())
        case 8 where depth < 4:
            return .array((0..<input.int(in: 0...4)).map { _ in value(depth: depth + 1) })
        case 9 where depth < 4:
            return .table((0..<input.int(in: 0...4)).map { _ in (key: string(), value: value(depth: depth + 1)) })
        case 10: return .other(input.pick(["date", "time", "date-time"]))
        default: return .string(string())
        }
    }

    mutating func entry(section: String, key: String) -> ConfigNode {
        switch (section, key) {
        case ("cookie", "keys"):
            if input.byte() < 30 { return value(depth: 1) }
            return .array((0..<input.int(in: 0...3)).map { _ in secret() })
        case ("signing", "secret"), ("signing", "private_key"), ("store", "url"):
            return secret()
        case ("route", "require"):
            return .table((0..<input.int(in: 0...3)).map { _ in (key: string(), value: value(depth: 2)) })
        default:
            return value(depth: 1)
        }
    }

    mutating func table(section: String, keys: [String]) -> ConfigNode {
        .table(
            (0..<input.int(in: 0...7)).map { _ in
                let key = input.byte() < 230 ? input.pick(keys) : string()
                return (key: key, value: entry(section: section, key: key))
            })
    }

    mutating func document() -> ConfigNode {
        var entries: [(key: String, value: ConfigNode)] = []
        for _ in 0..<input.int(in: 0...10) {
            let choice = input.byte()
            if choice < 200 {
                let name = input.pick(Array(sections.keys).sorted())
                entries.append((name, table(section: name, keys: sections[name]!)))
            } else if choice < 235 {
                let rules = (0..<input.int(in: 0...4)).map { _ in table(section: "route", keys: routeKeys) }
                entries.append(("route", .array(rules)))
            } else {
                entries.append((string(), value(depth: 1)))
            }
        }
        return .table(entries)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var generator = Generator(input: FuzzInput(data, size))
    let document = generator.byteDocument()
    switch ConfigLoader.load(document, environment: environment, configDirectory: "/etc/sessiongate") {
    case .failure(let errors):
        check(!errors.issues.isEmpty, "failure without issues")
        for issue in errors.issues {
            check(!issue.key.isEmpty, "an issue without a key: \(describe(issue.message))")
            check(!issue.message.isEmpty, "an issue without a message at \(describe(issue.key))")
            for secret in generator.usedSecrets {
                check(!issue.description.contains(secret), "an issue quotes a secret: \(describe(issue.description))")
            }
        }
    case .success(let config):
        // No printout of a loaded configuration shows a secret (they are `Secret`s).
        var dumped = ""
        dump(config, to: &dumped)
        for text in [dumped, String(reflecting: config)] {
            for secret in generator.usedSecrets {
                check(!text.contains(secret), "a printed configuration shows a secret: \(describe(secret))")
            }
        }
        check(!config.server.upgrades.contains("h2c"), "h2c accepted in server.upgrades")
        check(config.routes.trustedOrigins.allSatisfy { TrustedOrigin.normalize($0) == $0 }, "an origin kept unnormalised")
        // Whatever the loader accepts, the runtime must accept too.
        do {
            _ = try CookieKeyRing(keys: config.cookie.keys)
        } catch {
            check(false, "the loader accepted cookie keys the key ring refuses: \(error)")
        }
        do {
            _ = try TokenSigner(config: config.signing)
        } catch {
            check(false, "the loader accepted a signing section the signer refuses: \(error)")
        }
        check(config.session.touchInterval < config.session.idleTimeout, "touch_interval not below idle_timeout")
        check(!config.cookie.name.isEmpty, "empty cookie name accepted")
        let table = RouteTable(config.routes)
        _ = table.match(method: "GET", path: "/admin/x")
    }
    return 0
}

extension Generator {
    /// The document, or (for a first byte of 0xFF) a bare value at the top, which must be refused.
    mutating func byteDocument() -> ConfigNode {
        input.byte() == 0xFF ? value(depth: 0) : document()
    }
}

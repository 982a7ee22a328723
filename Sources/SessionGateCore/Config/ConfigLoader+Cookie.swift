import SessionGateShared

enum CookieKeys {
    static let all = ["name", "secure", "same_site", "keys", "domain", "path"]
}

enum SessionKeys {
    static let all = ["idle_timeout", "absolute_timeout", "touch_interval", "user_key", "max_lifetime", "max_data_bytes", "max_per_user"]
}

extension ConfigPass {
    mutating func readCookie(_ table: ConfigTable) -> ProxyConfig.Cookie {
        var cookie = ProxyConfig.Cookie()
        if let name = string(table, "name") {
            if HTTPToken.isToken(name) {
                cookie.name = name
            } else {
                report(
                    table.key("name"),
                    "\"\(name)\" is not a valid cookie name; use letters, digits and !#$%&'*+-.^_`|~ (e.g. \"__Host-session\")")
            }
        }
        let secureKey = table.key("secure")
        if let secure = bool(table, "secure") { cookie.secure = secure }
        if let sameSite = choice(table, "same_site", ProxyConfig.SameSite.allCases) { cookie.sameSite = sameSite }
        if let domain = string(table, "domain") {
            let valid =
                !domain.isEmpty
                && domain.unicodeScalars.allSatisfy {
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == ".")
                }
            if valid {
                cookie.domain = domain
            } else {
                report(table.key("domain"), "\"\(domain)\" is not a domain name (e.g. \"example.com\")")
            }
        }
        if let path = string(table, "path") {
            let valid = path.hasPrefix("/") && !path.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f || $0 == ";" }
            if valid {
                cookie.path = path
            } else {
                report(table.key("path"), "must start with \"/\" and contain no \";\" or control characters (e.g. \"/\")")
            }
        }
        cookie.keys = cookieKeys(table)

        // Browsers silently refuse cookies that break their prefix rules; catch it here instead.
        let lowerName = cookie.name.lowercased()
        if lowerName.hasPrefix("__host-") {
            if !cookie.secure {
                report(
                    secureKey, "a \"__Host-\" cookie must be Secure; set secure = true or use a name without the prefix (e.g. \"session\")")
            }
            if cookie.domain != nil {
                report(
                    table.key("domain"),
                    "a \"__Host-\" cookie must not have a Domain; remove domain or use a name without the prefix (e.g. \"__Secure-session\")"
                )
            }
            if cookie.path != "/" {
                report(table.key("path"), "a \"__Host-\" cookie must have path \"/\"; remove path or use a name without the prefix")
            }
        } else if lowerName.hasPrefix("__secure-"), !cookie.secure {
            report(secureKey, "a \"__Secure-\" cookie must be Secure; set secure = true or use a name without the prefix")
        }
        if cookie.sameSite == .none, !cookie.secure {
            report(
                table.key("same_site"),
                "same_site = \"none\" requires secure = true (browsers reject SameSite=None without Secure); use \"lax\" or set secure = true"
            )
        }
        return cookie
    }

    /// Decodes `cookie.keys`; messages give lengths, never key material.
    private mutating func cookieKeys(_ table: ConfigTable) -> [Secret<[UInt8]>] {
        let advice = "generate one with `sessiongate keygen` and set keys = [\"${SESSIONGATE_KEY}\"]"
        guard table.has("keys") else {
            report(table.key("keys"), "missing; \(advice)")
            return []
        }
        guard let elements = array(table, "keys", expected: "an array of base64 strings, e.g. [\"${SESSIONGATE_KEY}\"]")
        else { return [] }
        if elements.isEmpty { report(table.key("keys"), "is empty; at least one key is needed (\(advice))") }
        var keys: [Secret<[UInt8]>] = []
        var keyIDs: [[UInt8]: Int] = [:]  // key id -> first position, as CookieKeyRing checks them
        for (index, element) in elements.enumerated() {
            let key = "\(table.key("keys"))[\(index)]"
            guard let text = string(element, key: key, expected: "a base64 string") else { continue }
            guard let bytes = Base64.decode(text) else {
                report(key, "is not valid base64 (standard alphabet, \"=\" padding); \(advice)")
                continue
            }
            guard bytes.count == 32 else {
                report(key, "decodes to \(bytes.count) bytes; expected exactly 32 (\(advice))")
                continue
            }
            if let first = keyIDs[CookieKeyRing.keyID(for: bytes)] {
                report(key, "is the same key as \(table.key("keys"))[\(first)]; list each key once")
                continue
            }
            keyIDs[CookieKeyRing.keyID(for: bytes)] = index
            keys.append(Secret(bytes))
        }
        return keys
    }

    mutating func readSession(_ table: ConfigTable) -> ProxyConfig.Session {
        var session = ProxyConfig.Session()
        if let value = seconds(table, "idle_timeout", example: "30m") { session.idleTimeout = value }
        if let value = seconds(table, "absolute_timeout", example: "7d") { session.absoluteTimeout = value }
        if let value = seconds(table, "touch_interval", example: "1m") { session.touchInterval = value }
        if let value = seconds(table, "max_lifetime", example: "30d") { session.maxLifetime = value }
        if let value = int(table, "max_data_bytes", range: 0...67_108_864) { session.maxDataBytes = value }
        if let value = int(table, "max_per_user", range: 0...100_000) { session.maxPerUser = value }
        if let value = string(table, "user_key") {
            if value.isEmpty { report(table.key("user_key"), "must not be empty (e.g. \"user_id\")") } else { session.userKey = value }
        }
        if session.touchInterval >= session.idleTimeout {
            report(
                table.key("touch_interval"),
                "must be shorter than idle_timeout (\(DurationParser.format(milliseconds: session.idleTimeout * 1000))), or active sessions would expire between touches"
            )
        }
        return session
    }
}

/// RFC 9110 `token` characters (method names, header names, cookie names).
enum HTTPToken {
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isTokenByte)
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}

enum RouteKeys {
    static let all = ["path", "methods", "access", "require", "unauthenticated", "login_url"]
}

/// The keys of `[routes]` (the rules themselves are `[[route]]`).
enum RoutesKeys {
    static let all = ["default", "login_url", "cross_origin_protection", "trusted_origins", "case_sensitive"]
}

extension ConfigPass {
    /// `[routes]` and the ordered `[[route]]` tables.
    mutating func readRoutes(_ document: ConfigTable) -> ProxyConfig.Routes {
        var routes = ProxyConfig.Routes()
        if case .array = document["routes"] {
            report("routes", "expected a table ([routes] with default and login_url); rules are written as [[route]] (singular)")
        } else if let table = section(document, "routes", allowed: RoutesKeys.all) {
            if let access = choice(table, "default", RouteAccess.allCases) { routes.defaultAccess = access }
            if let url = loginURL(table) { routes.loginURL = url }
            if let value = bool(table, "cross_origin_protection") { routes.crossOriginProtection = value }
            if let value = bool(table, "case_sensitive") { routes.caseSensitive = value }
            if let origins = trustedOrigins(table) { routes.trustedOrigins = origins }
        }

        let elements: [ConfigNode]
        switch document["route"] {
        case nil: elements = []
        case .array(let items)?: elements = items
        case .table?:
            report("route", "expected an array of tables: write each rule as [[route]] (double brackets)")
            elements = []
        case let other?:
            reportType("route", expected: "an array of tables ([[route]])", got: other)
            elements = []
        }
        for (index, element) in elements.enumerated() {
            guard case .table(let entries) = element else {
                reportType("route[\(index)]", expected: "a table ([[route]])", got: element)
                continue
            }
            let table = ConfigTable(path: "route[\(index)]", entries: entries)
            checkKeys(table, allowed: RouteKeys.all)
            if let rule = readRule(table, index: index, fallbackLoginURL: routes.loginURL) { routes.rules.append(rule) }
        }
        return routes
    }

    private mutating func readRule(_ table: ConfigTable, index: Int, fallbackLoginURL: String?) -> RouteRule? {
        requireKey(table, "path", "every [[route]] needs a glob, e.g. path = \"/admin/**\"")
        requireKey(table, "access", "every [[route]] needs access = \"public\" | \"session\" | \"deny\"")
        var pattern: PathGlob?
        if let source = string(table, "path") {
            do {
                pattern = try PathGlob(source)
            } catch {
                report(table.key("path"), "\"\(source)\" \(error.description)")
            }
        }
        let methods = readMethods(table)
        let access = choice(table, "access", RouteAccess.allCases)
        let require = readRequire(table)
        let unauthenticated = readUnauthenticated(table)
        let login = loginURL(table)

        if let access, access != .session {
            for name in ["require", "unauthenticated", "login_url"] where table.has(name) {
                report(table.key(name), "only applies to access = \"session\" (this rule is \"\(access.rawValue)\"); remove it")
            }
        }
        if unauthenticated == .redirect, login == nil, fallbackLoginURL == nil, !table.has("login_url") {
            report(table.key("unauthenticated"), "\"redirect\" needs a login page: set login_url on this rule or in [routes]")
        }
        guard let pattern, let access, case .some(let methodSet) = methods, let require else { return nil }
        return RouteRule(
            index: index, pattern: pattern, methods: methodSet, access: access, require: require,
            unauthenticated: unauthenticated ?? .auto, loginURL: login)
    }

    /// nil = invalid (reported); `.some(nil)` = any method.
    private mutating func readMethods(_ table: ConfigTable) -> Set<String>?? {
        guard table.has("methods") else { return .some(nil) }
        guard let names = stringArray(table, "methods", example: "[\"GET\", \"POST\"]") else { return nil }
        if names.isEmpty {
            report(table.key("methods"), "is empty and would match nothing; list methods or remove the key to match any")
            return nil
        }
        var methods: Set<String> = []
        var valid = true
        for (index, name) in names.enumerated() {
            if HTTPToken.isToken(name), name != "*" {
                methods.insert(name.uppercased())
            } else {
                report("\(table.key("methods"))[\(index)]", "\"\(name)\" is not an HTTP method (e.g. \"GET\"); remove methods to match any")
                valid = false
            }
        }
        return valid ? .some(methods) : nil
    }

    /// `require = { field = value | [values] }`.
    private mutating func readRequire(_ table: ConfigTable) -> [String: [JSONValue]]? {
        guard let node = table["require"] else { return [:] }
        let key = table.key("require")
        guard case .table(let entries) = node else {
            reportType(key, expected: "a table of session fields, e.g. { role = [\"admin\"] }", got: node)
            return nil
        }
        var out: [String: [JSONValue]] = [:]
        var valid = true
        for (field, value) in entries {
            let fieldKey = "\(key).\(field)"
            if case .array(let items) = value {
                if items.isEmpty {
                    report(fieldKey, "is an empty list that no session can meet; list accepted values")
                    valid = false
                }
                var values: [JSONValue] = []
                for (index, item) in items.enumerated() {
                    if let scalar = requireScalar(item, key: "\(fieldKey)[\(index)]") { values.append(scalar) } else { valid = false }
                }
                out[field] = values
            } else if let scalar = requireScalar(value, key: fieldKey) {
                out[field] = [scalar]
            } else {
                valid = false
            }
        }
        return valid ? out : nil
    }

    private mutating func requireScalar(_ node: ConfigNode, key: String) -> JSONValue? {
        switch node {
        case .string: return string(node, key: key).map(JSONValue.string)
        case .integer(let value): return .int(value)
        case .double(let value): return .double(value)
        case .bool(let value): return .bool(value)
        default:
            reportType(key, expected: "a string, number or boolean (or an array of them)", got: node)
            return nil
        }
    }

    private mutating func readUnauthenticated(_ table: ConfigTable) -> UnauthenticatedResponse? {
        guard let node = table["unauthenticated"] else { return nil }
        let key = table.key("unauthenticated")
        if case .integer(let code) = node {
            guard code == 401 else {
                report(key, "\(code) is not allowed; expected \"auto\", 401 or \"redirect\"")
                return nil
            }
            return .unauthorized
        }
        return choice(node, key: key, UnauthenticatedResponse.allCases)
    }

    /// `trusted_origins`: each normalised by `TrustedOrigin.normalize`, duplicates dropped.
    private mutating func trustedOrigins(_ table: ConfigTable) -> [String]? {
        guard let texts = stringArray(table, "trusted_origins", example: "[\"https://app.example.com\"]") else { return nil }
        var origins: [String] = []
        var valid = true
        for (index, text) in texts.enumerated() {
            if let origin = TrustedOrigin.normalize(text) {
                if !origins.contains(origin) { origins.append(origin) }
            } else {
                report(
                    "\(table.key("trusted_origins"))[\(index)]",
                    "\"\(text)\" is not an origin; expected scheme http or https, a host and an optional port, without a path (e.g. \"https://app.example.com\" or \"http://localhost:8080\")"
                )
                valid = false
            }
        }
        return valid ? origins : nil
    }

    /// A relative path ("/login") or an absolute http(s) URL.
    private mutating func loginURL(_ table: ConfigTable) -> String? {
        guard let url = string(table, "login_url") else { return nil }
        let hasBadCharacter = url.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7f || $0 == "\\" }
        let lower = url.lowercased()
        let isRelative = url.hasPrefix("/") && !url.hasPrefix("//")
        var isAbsolute = false
        for scheme in ["http://", "https://"] where lower.hasPrefix(scheme) {
            let host = url.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            isAbsolute = !host.isEmpty
        }
        guard !hasBadCharacter, isRelative || isAbsolute else {
            report(
                table.key("login_url"),
                "\"\(url)\" must be a path starting with \"/\" (e.g. \"/login\") or an http(s) URL (e.g. \"https://auth.example.com/login\")"
            )
            return nil
        }
        return url
    }

    /// `[inject]`: header name -> session field.
    mutating func readInject(_ table: ConfigTable) -> [ProxyConfig.InjectedHeader] {
        var headers: [ProxyConfig.InjectedHeader] = []
        var seen: Set<String> = []
        for (name, node) in table.entries {
            let key = table.key(name)
            guard let field = string(node, key: key, expected: "a session field name, e.g. \"user_id\"") else { continue }
            let folded = String(name.lowercased().map { $0 == "_" || $0 == "." ? "-" : $0 })
            if !HTTPToken.isToken(name) {
                report(key, "\"\(name)\" is not a valid header name (letters, digits and -)")
            } else if folded.hasPrefix("x-session-") || folded == "x-session" {
                report(key, "X-Session-* headers are reserved for SessionGate; choose another name (e.g. \"X-User-Id\")")
            } else if Self.reservedHeaders.contains(folded) || folded.hasPrefix("x-forwarded-") || folded.hasPrefix("proxy-") {
                report(key, "\"\(name)\" is managed by the proxy and cannot be injected; choose another name (e.g. \"X-User-Id\")")
            } else if !seen.insert(folded).inserted {
                report(key, "\"\(name)\" is listed twice (header names ignore case, \"_\" and \".\" spellings)")
            } else if field.isEmpty {
                report(key, "the session field must not be empty (e.g. \"user_id\")")
            } else {
                headers.append(ProxyConfig.InjectedHeader(header: name, field: field))
            }
        }
        return headers
    }

    static let reservedHeaders: Set<String> = [
        "host", "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "content-length",
        "cookie", "set-cookie", "forwarded", "via", "expect",
    ]
}

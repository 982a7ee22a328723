import SessionGateShared

enum StoreKeys {
    static let all = ["backend", "url", "cluster", "path", "timeout"]
}

enum SigningKeys {
    static let all = ["algorithm", "secret", "private_key", "ttl", "issuer", "audience"]
}

extension ConfigPass {
    mutating func readStore(_ table: ConfigTable) -> ProxyConfig.Store {
        var store = ProxyConfig.Store()
        // nil only when `backend` is present but invalid.
        let backend = table.has("backend") ? choice(table, "backend", ProxyConfig.Backend.allCases) : .memory
        if let backend { store.backend = backend }
        if let value = duration(table, "timeout", example: "1s") { store.timeout = value }
        if let cluster = bool(table, "cluster") {
            store.cluster = cluster
            if cluster, backend != nil, store.backend != .redis {
                report(table.key("cluster"), "only applies to backend = \"redis\"; remove it")
            }
        }
        guard let backend else { return store }

        switch backend {
        case .redis, .postgres:
            let schemes = backend == .redis ? ["redis"] : ["postgres", "postgresql"]  // TLS to Redis (rediss://) is not supported
            let example = backend == .redis ? "redis://[:password@]host:6379/0" : "postgres://user:password@host:5432/db"
            requireKey(table, "url", "backend \"\(backend.rawValue)\" needs url = \"\(example)\"")
            if let url = string(table, "url") {
                if let problem = Self.storeURLProblem(url, schemes: schemes) {
                    report(table.key("url"), "\(problem); expected \"\(example)\"")
                } else {
                    store.url = Secret(url)
                }
            }
        case .memory, .cookie, .sqlite:
            if table.has("url") {
                report(table.key("url"), "only used by the redis and postgres backends (backend is \"\(backend.rawValue)\"); remove it")
            }
        }
        if backend == .sqlite {
            requireKey(table, "path", "backend \"sqlite\" needs path = \"sessions.db\" (relative to the config file's folder)")
            if let path = string(table, "path") {
                if path.isEmpty || path.hasSuffix("/") {
                    report(table.key("path"), "must name a database file, e.g. \"sessions.db\"")
                } else {
                    store.path = resolve(path)
                }
            }
        } else if table.has("path") {
            report(table.key("path"), "only used by the sqlite backend (backend is \"\(backend.rawValue)\"); remove it")
        }
        return store
    }

    /// Checks scheme and host without ever echoing the URL (it may carry a password).
    static func storeURLProblem(_ url: String, schemes: [String]) -> String? {
        let allowed = schemes.map { "\($0)://" }.joined(separator: " or ")
        guard let separator = url.firstRange(of: "://") else { return "is not a URL (it must start with \(allowed))" }
        let scheme = url[..<separator.lowerBound].lowercased()
        guard schemes.contains(scheme) else { return "has scheme \"\(scheme)\"; it must start with \(allowed)" }
        let authority = url[separator.upperBound...].prefix { $0 != "/" && $0 != "?" }
        let hostPart = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        if hostPart.isEmpty || hostPart.hasPrefix(":") { return "has no host" }
        return nil
    }

    /// A relative path joined to the config file's folder.
    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") || configDirectory.isEmpty { return path }
        var relative = Substring(path)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2) }
        return configDirectory.hasSuffix("/") ? configDirectory + relative : "\(configDirectory)/\(relative)"
    }

    mutating func readSigning(_ table: ConfigTable) -> ProxyConfig.Signing {
        var signing = ProxyConfig.Signing()
        // nil only when `algorithm` is present but invalid: then neither key can be checked.
        let algorithm = table.has("algorithm") ? choice(table, "algorithm", [ProxyConfig.Algorithm.hs256, .edDSA]) : .hs256
        if let algorithm { signing.algorithm = algorithm }
        if let value = seconds(table, "ttl", example: "60s") { signing.ttl = value }
        for name in ["issuer", "audience"] {
            guard let value = string(table, name) else { continue }
            if value.isEmpty {
                report(table.key(name), "must not be empty")
            } else if name == "issuer" {
                signing.issuer = value
            } else {
                signing.audience = value
            }
        }
        switch algorithm {
        case nil:
            break
        case .hs256?:
            requireKey(
                table, "secret",
                "HS256 needs secret = \"${SESSIONGATE_SIGNING_SECRET}\" (at least 32 bytes; `sessiongate keygen` makes one)")
            if let secret = string(table, "secret") {
                let bytes = Array(secret.utf8)
                if bytes.count >= 32 {
                    signing.secret = Secret(bytes)
                } else {
                    report(
                        table.key("secret"),
                        "is \(bytes.count) bytes long; HS256 needs at least 32 (`sessiongate keygen` makes a suitable one)")
                }
            }
            if table.has("private_key") {
                report(table.key("private_key"), "only used with algorithm = \"EdDSA\" (algorithm is \"HS256\"); remove it")
            }
        case .edDSA?:
            requireKey(
                table, "private_key", "EdDSA needs private_key = \"${SESSIONGATE_ED25519_KEY}\" (`sessiongate keygen --ed25519` makes one)")
            if let text = string(table, "private_key") {
                if let bytes = Base64.decode(text), bytes.count == 32 {
                    signing.privateKey = Secret(bytes)
                } else {
                    let detail = Base64.decode(text).map { "decodes to \($0.count) bytes" } ?? "is not valid base64"
                    report(
                        table.key("private_key"),
                        "\(detail); expected the base64 of a 32-byte Ed25519 seed (`sessiongate keygen --ed25519`)")
                }
            }
            if table.has("secret") {
                report(table.key("secret"), "only used with algorithm = \"HS256\" (algorithm is \"EdDSA\"); remove it")
            }
        }
        return signing
    }
}

enum ServerKeys {
    static let all = [
        "listen", "admin_listen", "trusted_proxies", "max_header_bytes", "max_body_bytes", "header_timeout",
        "idle_timeout", "drain_timeout", "via", "upgrades", "body_timeout", "tls_cert", "tls_key",
    ]
}

enum UpstreamKeys {
    static let all = ["url", "connect_timeout", "response_timeout", "max_idle_connections"]
}

extension ConfigPass {
    mutating func readServer(_ table: ConfigTable) -> ProxyConfig.Server {
        var server = ProxyConfig.Server()
        if let address = listenAddress(table, "listen") { server.listen = address }
        if let address = listenAddress(table, "admin_listen") { server.adminListen = address }
        if table.has("listen") || table.has("admin_listen"), server.listen == server.adminListen, server.listen.port != 0 {
            report(
                table.key("admin_listen"), "must differ from server.listen (\(server.listen)); the admin endpoints need their own listener")
        }
        if let proxies = stringArray(table, "trusted_proxies", example: "[\"10.0.0.0/8\", \"::1\"]") {
            var networks: [CIDR] = []
            for (index, text) in proxies.enumerated() {
                if let network = CIDR(text) {
                    networks.append(network)
                } else {
                    report(
                        "\(table.key("trusted_proxies"))[\(index)]",
                        "\"\(text)\" is not a CIDR; expected e.g. \"10.0.0.0/8\", \"192.168.1.7\" or \"fd00::/8\"")
                }
            }
            server.trustedProxies = networks
        }
        if let value = int(table, "max_header_bytes", range: 64...67_108_864) { server.maxHeaderBytes = value }
        if let value = int(table, "max_body_bytes", range: 0...Int64.max) { server.maxBodyBytes = value }
        if let value = duration(table, "header_timeout", example: "10s") { server.headerTimeout = value }
        if let value = duration(table, "idle_timeout", example: "60s") { server.idleTimeout = value }
        if let value = duration(table, "drain_timeout", example: "30s") { server.drainTimeout = value }
        if let value = bool(table, "via") { server.via = value }
        if let value = duration(table, "body_timeout", example: "60s") { server.bodyTimeout = value }
        if let upgrades = upgradeTokens(table) { server.upgrades = upgrades }
        server.tls = listenerTLS(table)
        return server
    }

    /// `tls_cert` and `tls_key`, both or neither (the files are read by `sessiongate check` and
    /// the proxy, not here).
    private mutating func listenerTLS(_ table: ConfigTable) -> ProxyConfig.ListenerTLSFiles? {
        let hasCert = table.has("tls_cert")
        let hasKey = table.has("tls_key")
        guard hasCert || hasKey else { return nil }
        if !hasCert || !hasKey {
            let (missing, present) = hasCert ? ("tls_key", "tls_cert") : ("tls_cert", "tls_key")
            report(
                table.key(missing),
                "is required with \(present): the listener needs a certificate (PEM, leaf first, then intermediates) and its private key (PEM)"
            )
            return nil
        }
        var paths: [String] = []
        for name in ["tls_cert", "tls_key"] {
            guard let path = string(table, name) else { continue }
            if path.isEmpty || path.hasSuffix("/") {
                report(table.key(name), "must name a PEM file, e.g. \"/etc/sessiongate/\(name == "tls_cert" ? "cert" : "key").pem\"")
            } else {
                paths.append(resolve(path))
            }
        }
        guard paths.count == 2 else { return nil }
        return ProxyConfig.ListenerTLSFiles(certificatePath: paths[0], keyPath: paths[1])
    }

    /// `upgrades`: HTTP tokens, lower-cased, each once; `h2c` refused.
    private mutating func upgradeTokens(_ table: ConfigTable) -> [String]? {
        guard let names = stringArray(table, "upgrades", example: "[\"websocket\"]") else { return nil }
        var tokens: [String] = []
        var valid = true
        for (index, name) in names.enumerated() {
            let key = "\(table.key("upgrades"))[\(index)]"
            let token = name.lowercased()
            if !HTTPToken.isToken(name) {
                report(key, "\"\(name)\" is not an Upgrade protocol token (letters, digits and !#$%&'*+-.^_`|~, e.g. \"websocket\")")
                valid = false
            } else if token == "h2c" {
                report(
                    key,
                    "\"h2c\" cannot be allowed: HTTP/2 inside the tunnel would bypass every route rule; remove it (only \"websocket\" is supported)"
                )
                valid = false
            } else if tokens.contains(token) {
                report(key, "\"\(name)\" is listed twice (tokens ignore case)")
                valid = false
            } else {
                tokens.append(token)
            }
        }
        return valid ? tokens : nil
    }

    mutating func readUpstream(_ table: ConfigTable) -> ProxyConfig.Upstream {
        var upstream = ProxyConfig.Upstream()
        requireKey(table, "url", "set the app's address, e.g. url = \"http://127.0.0.1:3000\"")
        if let text = string(table, "url") {
            switch AddressParser.upstreamURL(text) {
            case .success(let url): upstream.url = url
            case .failure(let reason): report(table.key("url"), reason.message)
            }
        }
        if let value = duration(table, "connect_timeout", example: "2s") { upstream.connectTimeout = value }
        if let value = duration(table, "response_timeout", example: "30s") { upstream.responseTimeout = value }
        if let value = int(table, "max_idle_connections", range: 0...100_000) { upstream.maxIdleConnections = value }
        return upstream
    }

    mutating func listenAddress(_ table: ConfigTable, _ name: String) -> SocketAddressSpec? {
        guard let text = string(table, name, expected: "a \"host:port\" string such as \"127.0.0.1:8080\"") else {
            return nil
        }
        switch AddressParser.listen(text) {
        case .success(let address): return address
        case .failure(let reason):
            report(table.key(name), reason.message)
            return nil
        }
    }
}

/// Parses listen addresses and the upstream URL (pure: no name resolution).
enum AddressParser {
    struct Failure: Error {
        let message: String
    }

    /// `host:port` or `[v6]:port`; port 0 asks the system for a free port.
    static func listen(_ text: String) -> Result<SocketAddressSpec, Failure> {
        let example = "expected \"host:port\" such as \"127.0.0.1:8080\", \"0.0.0.0:8080\" or \"[::1]:8080\""
        guard let (host, port) = splitHostPort(Substring(text)) else {
            return .failure(Failure(message: "\"\(text)\" is not an address; \(example)"))
        }
        guard let port else {
            return .failure(Failure(message: "\"\(text)\" has no port; \(example)"))
        }
        switch validatedHost(host) {
        case .success(let host):
            return port.map { .success(SocketAddressSpec(host: host, port: $0)) }
                ?? .failure(Failure(message: "\"\(text)\" has an invalid port; ports are 0 to 65535"))
        case .failure(let failure): return .failure(Failure(message: "\(failure.message); \(example)"))
        }
    }

    /// `http://host[:port][/base]`.
    static func upstreamURL(_ text: String) -> Result<UpstreamURL, Failure> {
        let example = "expected \"http://host:port\" with an optional base path, e.g. \"http://127.0.0.1:3000\""
        guard let schemeEnd = text.firstRange(of: "://") else {
            return .failure(Failure(message: "\"\(text)\" is not a URL; \(example)"))
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        if scheme == "https" {
            return .failure(
                Failure(
                    message:
                        "https upstreams are not supported: SessionGate speaks plain HTTP to the app (a sidecar on loopback or a private network); use \"http://...\" and terminate TLS in front of SessionGate"
                ))
        }
        guard scheme == "http" else {
            return .failure(Failure(message: "unsupported scheme \"\(scheme)\"; \(example)"))
        }
        let rest = text[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") {
            return .failure(Failure(message: "must not contain a query or fragment; \(example)"))
        }
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        if authority.contains("@") {
            return .failure(Failure(message: "credentials in the upstream URL are not supported; \(example)"))
        }
        guard let (host, port) = splitHostPort(authority) else {
            return .failure(Failure(message: "\"\(text)\" has an invalid host; \(example)"))
        }
        let resolvedPort: Int
        switch port {
        case nil: resolvedPort = 80
        case .some(nil), .some(.some(0)):
            return .failure(Failure(message: "\"\(text)\" has an invalid port; ports are 1 to 65535"))
        case .some(.some(let value)): resolvedPort = value
        }
        let resolvedHost: String
        switch validatedHost(host) {
        case .success(let value): resolvedHost = value
        case .failure(let failure): return .failure(Failure(message: "\(failure.message); \(example)"))
        }
        while path.hasSuffix("/") { path.removeLast() }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
            || path.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f || $0 == "\\" })
        {
            return .failure(Failure(message: "base path \"\(path)\" must be a plain path such as \"/app\""))
        }
        return .success(UpstreamURL(host: resolvedHost, port: resolvedPort, basePath: path))
    }

    /// Splits `host[:port]`. The port is nil when absent and `.some(nil)` when present but invalid.
    private static func splitHostPort(_ text: Substring) -> (host: Substring, port: Int??)? {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[...close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard let portText else { return (host, nil) }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portText), port <= 65535
        else { return (host, .some(nil)) }
        return (host, .some(port))
    }

    /// A host name, IPv4 address or bracketed IPv6 address; IPv6 comes back without brackets.
    private static func validatedHost(_ host: Substring) -> Result<String, Failure> {
        if host.isEmpty { return .failure(Failure(message: "the host is missing")) }
        if host.hasPrefix("[") {
            let inner = host.dropFirst().dropLast()
            guard host.hasSuffix("]"), IPAddressParser.parseV6(String(inner)) != nil else {
                return .failure(Failure(message: "\"\(host)\" is not a valid IPv6 address"))
            }
            return .success(String(inner))
        }
        if host.contains(":") {
            return .failure(Failure(message: "IPv6 addresses need brackets, e.g. \"[::1]:8080\""))
        }
        let allowed = host.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == ".")
        }
        guard allowed, !host.hasPrefix("."), !host.hasPrefix("-") else {
            return .failure(Failure(message: "\"\(host)\" is not a valid host name or IP address"))
        }
        return .success(String(host))
    }
}

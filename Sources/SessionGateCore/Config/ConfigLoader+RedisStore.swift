import SessionGateShared

/// The `[store]` keys only Redis reads: TLS (`rediss://`) and Sentinel.
enum RedisStoreKeys {
    static let tls = ["tls_ca", "tls_cert", "tls_key", "tls_server_name", "tls_insecure_skip_verify"]
    static let sentinel = ["sentinels", "master_name", "sentinel_username", "sentinel_password"]
    static let all = tls + sentinel
}

extension ConfigPass {
    /// Reports every Redis-only key when the backend is another one.
    mutating func rejectRedisKeys(_ table: ConfigTable, backend: ProxyConfig.Backend) {
        for name in RedisStoreKeys.all where table.has(name) {
            report(table.key(name), "only applies to backend = \"redis\" (backend is \"\(backend.rawValue)\"); remove it")
        }
    }

    /// `tls_*` for a `rediss://` URL (`usesTLS`); each one refused, by name, with plain `redis://`.
    mutating func readRedisTLS(_ table: ConfigTable, usesTLS: Bool) -> ProxyConfig.StoreTLS {
        var tls = ProxyConfig.StoreTLS()
        guard usesTLS else {
            for name in RedisStoreKeys.tls where table.has(name) {
                report(
                    table.key(name),
                    "only applies to TLS connections, but url is redis:// (plain text); use rediss:// or remove it")
            }
            return tls
        }
        tls.caFile = pemPath(table, "tls_ca")
        tls.certificateFile = pemPath(table, "tls_cert")
        tls.keyFile = pemPath(table, "tls_key")
        if table.has("tls_cert") != table.has("tls_key") {
            let missing = table.has("tls_cert") ? "tls_key" : "tls_cert"
            report(table.key(missing), "missing; a client certificate needs both tls_cert and tls_key")
        }
        if let name = string(table, "tls_server_name") {
            if name.isEmpty || name.contains(where: { $0 == "/" || $0 == ":" || $0 == " " })
                || name.allSatisfy({ $0.isNumber || $0 == "." })
            {
                report(table.key("tls_server_name"), "must be a DNS name such as \"redis.example.com\"")
            } else {
                tls.serverName = name
            }
        }
        if let skip = bool(table, "tls_insecure_skip_verify") {
            tls.insecureSkipVerify = skip
            if skip, table.has("tls_ca") {
                report(table.key("tls_ca"), "is never used with tls_insecure_skip_verify = true; remove one of them")
            }
        }
        return tls
    }

    /// `sentinels` + `master_name` (+ Sentinel credentials); nil without `sentinels`.
    mutating func readSentinel(_ table: ConfigTable, cluster: Bool) -> ProxyConfig.Sentinel? {
        guard table.has("sentinels") else {
            for name in RedisStoreKeys.sentinel where table.has(name) {
                report(table.key(name), "only used with sentinels = [\"host:26379\", …]; add sentinels or remove it")
            }
            return nil
        }
        var sentinel = ProxyConfig.Sentinel()
        if cluster { report(table.key("sentinels"), "cannot be combined with cluster = true; Sentinel serves one primary") }
        if let addresses = stringArray(table, "sentinels", example: "[\"10.0.0.1:26379\", \"10.0.0.2:26379\"]") {
            if addresses.isEmpty { report(table.key("sentinels"), "must list at least one \"host:port\"") }
            for (index, address) in addresses.enumerated() where Self.hostPortProblem(address) != nil {
                report("\(table.key("sentinels"))[\(index)]", "\(Self.hostPortProblem(address)!); expected \"host:26379\"")
            }
            sentinel.addresses = addresses
        }
        requireKey(table, "master_name", "Sentinel needs master_name = \"mymaster\" (the name the Sentinels monitor)")
        if let name = string(table, "master_name") {
            if name.isEmpty { report(table.key("master_name"), "must not be empty") } else { sentinel.masterName = name }
        }
        sentinel.username = string(table, "sentinel_username")
        sentinel.password = string(table, "sentinel_password").map(Secret.init)
        return sentinel
    }

    /// `host:port` with a port (Sentinels have no default worth guessing).
    static func hostPortProblem(_ address: String) -> String? {
        do {
            let (host, port) = try URLAuthority.hostAndPort(Substring(address))
            if host.isEmpty { return "has no host" }
            if port == nil { return "has no port" }
            return nil
        } catch {
            return "is not host:port (\(error))"
        }
    }

    /// A PEM file path, resolved against the config file's folder (that it can be read is
    /// checked where files are opened: `sessiongate check` and startup).
    private mutating func pemPath(_ table: ConfigTable, _ name: String) -> String? {
        guard let path = string(table, name) else { return nil }
        guard !path.isEmpty, !path.hasSuffix("/") else {
            report(table.key(name), "must name a PEM file")
            return nil
        }
        return resolve(path)
    }
}

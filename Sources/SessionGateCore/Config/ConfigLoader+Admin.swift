import SessionGateShared

enum AdminKeys {
    static let all = ["token", "token_file"]
}

extension ConfigPass {
    /// `[admin]`: `token` or `token_file` (not both). The file is read by the app layer
    /// (`AdminTokenFile`), which checks its length the same way.
    mutating func readAdmin(_ table: ConfigTable) -> ProxyConfig.Admin {
        var admin = ProxyConfig.Admin()
        let token = string(table, "token")
        let file = string(table, "token_file")
        if token != nil, file != nil {
            report(table.key("token_file"), "give either admin.token or admin.token_file, not both")
            return admin
        }
        if let token {
            if let problem = ProxyConfig.Admin.tokenProblem(token) {
                report(table.key("token"), problem)
            } else {
                admin.token = Secret(token)
            }
        }
        if let file {
            if file.isEmpty {
                report(table.key("token_file"), "must name a file holding the token")
            } else {
                admin.tokenFile = resolve(file)
            }
        }
        return admin
    }
}

extension ProxyConfig.Admin {
    /// Why `token` cannot be a bearer token (too short, or bytes a header cannot carry), or nil.
    /// Never quotes the token.
    public static func tokenProblem(_ token: String) -> String? {
        let bytes = token.utf8.count
        if bytes < minimumTokenBytes {
            return "is \(bytes) bytes; a bearer token needs at least \(minimumTokenBytes) (e.g. `openssl rand -hex 32`)"
        }
        // RFC 6750 b64token characters, so it travels in `Authorization: Bearer …` unchanged.
        let allowed = token.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default: Array("-._~+/=".utf8).contains(byte)
            }
        }
        return allowed ? nil : "may hold only letters, digits and -._~+/= (RFC 6750), so it fits an Authorization header"
    }
}

extension ConfigLoader {
    /// What a client of the sessions API needs from a proxy's file: `server.admin_listen` and
    /// `[admin]`, and nothing else — so the CLI runs without the cookie keys or the signing
    /// secret in its environment. Other keys are neither read nor checked.
    public static func loadAdminAccess(
        _ root: ConfigNode, environment: [String: String], configDirectory: String
    ) -> Result<(adminListen: SocketAddressSpec, admin: ProxyConfig.Admin), ConfigErrors> {
        var pass = ConfigPass(environment: environment, configDirectory: configDirectory)
        guard case .table(let entries) = root else {
            return .failure(ConfigErrors(issues: [ConfigIssue(key: "config", message: "expected a table of sections")]))
        }
        let document = ConfigTable(path: "", entries: entries)
        var address = ProxyConfig.Server().adminListen
        if let server = pass.table(document["server"], key: "server"), let listen = pass.listenAddress(server, "admin_listen") {
            address = listen
        }
        var admin = ProxyConfig.Admin()
        if let table = pass.section(document, "admin", allowed: AdminKeys.all) { admin = pass.readAdmin(table) }
        return pass.issues.isEmpty ? .success((address, admin)) : .failure(ConfigErrors(issues: pass.issues))
    }
}

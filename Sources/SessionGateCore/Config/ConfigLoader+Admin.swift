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

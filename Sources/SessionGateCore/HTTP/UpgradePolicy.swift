import Crypto

/// Which upgrades the proxy tunnels, and what a `101` must say before it does. Only allow-listed
/// tokens (`[server] upgrades`, default `websocket`) are forwarded; anything else — `h2c` above
/// all, whose HTTP/2 requests inside the tunnel would reach paths no route rule ever saw — is
/// removed and the request proxied as a plain one.
public enum UpgradePolicy {
    /// The first token of the request's `Upgrade` values that `allowed` lists (lower case), when
    /// `Connection` names `upgrade`; nil means "not an upgrade".
    public static func requestedToken(upgradeValues: [String], connectionValues: [String], allowed: [String]) -> String? {
        guard !upgradeValues.isEmpty, HeaderPolicy.listContains(connectionValues, token: "upgrade") else { return nil }
        for value in upgradeValues {
            for element in value.split(separator: ",") {
                // A protocol may carry a version (`websocket/13` is not used, but `foo/1` is legal).
                let token = CookieHeader.trim(element).lowercased()
                if allowed.contains(token) { return token }
            }
        }
        return nil
    }

    /// True when a `101` may open the tunnel: its `Upgrade` is the token asked for and, for
    /// WebSocket, `Sec-WebSocket-Accept` matches the request's key (RFC 6455 §4.2.2).
    public static func acceptsSwitch(
        token: String, responseUpgrade: [String], responseAccept: [String], requestKey: String?
    ) -> Bool {
        let offered = responseUpgrade.flatMap { $0.split(separator: ",") }.map { CookieHeader.trim($0).lowercased() }
        guard offered == [token] else { return false }
        guard token == "websocket" else { return true }
        guard let requestKey, responseAccept.count == 1 else { return false }
        return CookieHeader.trim(Substring(responseAccept[0])) == webSocketAccept(forKey: requestKey)
    }

    /// `base64(SHA-1(key + GUID))` (RFC 6455 §1.3).
    public static func webSocketAccept(forKey key: String) -> String {
        let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        let digest = Insecure.SHA1.hash(data: Array((String(CookieHeader.trim(Substring(key))) + guid).utf8))
        return Base64.encode(Array(digest))
    }
}

import NIOCore
import NIOHTTP1
import SessionGateCore

/// Builds the request head the upstream sees: spoofable and hop-by-hop headers removed, the
/// session cookie taken out of `Cookie`, the signed token and `[inject]` headers added, and
/// `X-Forwarded-*` set from the peer (believed from `trusted_proxies` only).
enum ForwardedRequest {
    static func head(
        for head: HTTPRequestHead, target: NormalizedTarget, session: StoredSession?, runtime: ProxyRuntime,
        peer: String?, now: UnixSeconds, upgradeToken: String?, requestID: String
    ) -> HTTPRequestHead {
        let policy = runtime.headerPolicy
        let config = runtime.config
        let nominated = policy.connectionNominated(head.headers["connection"])
        let trusted = peer.map { address in config.server.trustedProxies.contains { $0.contains(address) } } ?? false
        let cookieName = config.cookie.name

        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 6)
        var inboundForwardedFor: [String] = []
        var inboundProto: String?
        var inboundHost: String?
        var hasBodyFraming = false
        for (name, value) in head.headers {
            let lower = name.lowercased()
            switch lower {
            case "x-request-id":
                continue  // replaced by the exchange's id below
            case "x-forwarded-for":
                if trusted { inboundForwardedFor.append(value) }
                continue
            case "x-forwarded-proto":
                if trusted { inboundProto = value }
                continue
            case "x-forwarded-host":
                if trusted { inboundHost = value }
                continue
            case "forwarded":
                if trusted { headers.add(name: name, value: value) }
                continue
            case "cookie":
                if let rest = CookieHeader.removing(named: cookieName, from: value) {
                    headers.add(name: name, value: rest)
                }
                continue
            case "expect":
                continue  // the proxy answers 100-continue itself
            case "transfer-encoding":
                hasBodyFraming = true
                continue  // re-framed below
            case "content-length":
                hasBodyFraming = true
            case "upgrade", "http2-settings":
                continue  // only an allow-listed token is forwarded (below); never h2c
            default:
                break
            }
            if HeaderPolicy.isHopByHop(lower) || policy.isSpoofable(lower) || nominated.contains(lower) { continue }
            // Method/URL overrides always; forwarding headers in `_`/`.` spellings (which CGI and
            // WSGI servers fold into the same variable) from untrusted peers.
            if HeaderPolicy.isAlwaysRemoved(lower) || (!trusted && HeaderPolicy.isForwardingHeader(lower)) { continue }
            headers.add(name: name, value: value)
        }
        let isUpgrade = upgradeToken != nil
        if let upgradeToken {
            headers.add(name: "Upgrade", value: upgradeToken)
            headers.add(name: "Connection", value: "upgrade")
        }
        if hasBodyFraming, !headers.contains(name: "content-length") {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        } else if !hasBodyFraming, !isUpgrade, head.method != .GET, head.method != .HEAD {
            // No framing means no body; say so, or NIO's encoder would frame an empty chunked body
            // that some apps misread.
            headers.add(name: "Content-Length", value: "0")
        }

        let host = head.headers.first(name: "host")
        var forwardedFor = inboundForwardedFor.joined(separator: ", ")
        if let peer {
            forwardedFor = forwardedFor.isEmpty ? peer : forwardedFor + ", " + peer
        }
        if !forwardedFor.isEmpty { headers.add(name: "X-Forwarded-For", value: forwardedFor) }
        headers.add(name: "X-Forwarded-Proto", value: inboundProto ?? (config.server.tls == nil ? "http" : "https"))
        if let forwardedHost = inboundHost ?? host { headers.add(name: "X-Forwarded-Host", value: forwardedHost) }
        if config.server.via { headers.add(name: "Via", value: "1.1 sessiongate") }
        headers.add(name: "X-Request-Id", value: requestID)

        if let session {
            let claims = TokenClaims(
                issuer: config.signing.issuer, audience: config.signing.audience, issuedAt: now,
                expiresAt: now + config.signing.ttl, sid: session.handle, data: session.data,
                method: head.method.rawValue, path: target.path)
            headers.add(name: "X-Session-Token", value: runtime.signer.sign(claims: claims))
            for (name, field) in runtime.injected {
                if let value = session.data[field], let text = headerText(value) {
                    headers.add(name: name, value: text)
                }
            }
        }

        var uri = config.upstream.url.basePath + target.path
        if let query = target.query { uri += "?" + query }
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: uri, headers: headers)
    }

    /// A session value as a header value: strings as they are, other values as JSON; nil when
    /// the text could split or smuggle a header.
    static func headerText(_ value: JSONValue) -> String? {
        let text: String
        switch value {
        case .null: return nil
        case .string(let string): text = string
        default: text = JSONSerializer.string(value)
        }
        guard !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else { return nil }
        return text
    }
}

import NIOCore
import NIOHTTP1
import SessionGateCore

/// Builds the request head the upstream sees, straight into bytes (no `HTTPHeaders` or encoder on
/// the way): spoofable and hop-by-hop headers removed, the session cookie taken out of `Cookie`,
/// the signed token and `[inject]` headers added, and `X-Forwarded-*` set from the peer (believed
/// from `trusted_proxies` only).
enum ForwardedRequest {
    /// The upstream request head as it goes on the wire, with what the upstream side must know
    /// about it.
    struct Head {
        /// Request line, fields and the blank line that ends them.
        var bytes: ByteBuffer
        /// The request is a HEAD: its response carries no body whatever its framing says.
        var isHEAD: Bool
        /// `Transfer-Encoding: chunked` was written: each body piece goes out as a chunk.
        var isChunked: Bool
    }

    /// The inbound fields the loop below treats specially (matched ignoring ASCII case).
    private enum Field {
        case requestID, forwardedFor, forwardedProto, forwardedHost, forwarded, cookie, expect, transferEncoding
        case contentLength, upgrade, host, other
    }

    static func head(
        for head: HTTPRequestHead, target: NormalizedTarget, session: StoredSession?, runtime: ProxyRuntime,
        peer: String?, now: UnixSeconds, upgradeToken: String?, requestID: String
    ) -> Head {
        let policy = runtime.headerPolicy
        let config = runtime.config
        let nominated = policy.connectionNominated(head.headers["connection"])
        let trusted = peer.map { address in config.server.trustedProxies.contains { $0.contains(address) } } ?? false
        let cookieName = config.cookie.name

        var buffer = ByteBufferAllocator().buffer(capacity: 512 + head.uri.utf8.count + (session == nil ? 0 : 1024))
        buffer.writeString(head.method.rawValue)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(config.upstream.url.basePath)
        buffer.writeString(target.path)
        if let query = target.query {
            buffer.writeInteger(UInt8(ascii: "?"))
            buffer.writeString(query)
        }
        buffer.writeStaticString(" HTTP/1.1\r\n")

        var inboundForwardedFor: [String] = []
        var inboundProto: String?
        var inboundHost: String?
        var host: String?
        var hasBodyFraming = false
        var keptContentLength = false
        for (name, value) in head.headers {
            let field = Self.field(name)
            switch field {
            case .requestID:
                continue  // replaced by the exchange's id below
            case .forwardedFor:
                if trusted { inboundForwardedFor.append(value) }
                continue
            case .forwardedProto:
                if trusted { inboundProto = value }
                continue
            case .forwardedHost:
                if trusted { inboundHost = value }
                continue
            case .forwarded:
                if trusted { HTTPWire.writeHeader(name, value, into: &buffer) }
                continue
            case .cookie:
                if let rest = CookieHeader.removing(named: cookieName, from: value) {
                    HTTPWire.writeHeader(name, rest, into: &buffer)
                }
                continue
            case .expect:
                continue  // the proxy answers 100-continue itself
            case .transferEncoding:
                hasBodyFraming = true
                continue  // re-framed below
            case .contentLength:
                hasBodyFraming = true
            case .upgrade:
                continue  // only an allow-listed token is forwarded (below); never h2c
            case .host:
                if host == nil { host = value }
            case .other:
                break
            }
            // Every check below ignores ASCII case (names are tokens: ASCII only).
            if HeaderPolicy.isHopByHop(name) || policy.isSpoofable(name) || (!nominated.isEmpty && Self.isNominated(name, nominated)) {
                continue
            }
            // Method/URL overrides always; forwarding headers in `_`/`.` spellings (which CGI and
            // WSGI servers fold into the same variable) from untrusted peers.
            if HeaderPolicy.isAlwaysRemoved(name) || (!trusted && HeaderPolicy.isForwardingHeader(name)) { continue }
            if field == .contentLength { keptContentLength = true }
            HTTPWire.writeHeader(name, value, into: &buffer)
        }
        let isUpgrade = upgradeToken != nil
        if let upgradeToken {
            HTTPWire.writeHeader("Upgrade", upgradeToken, into: &buffer)
            buffer.writeStaticString("Connection: upgrade\r\n")
        }
        var isChunked = false
        if hasBodyFraming, !keptContentLength {
            buffer.writeStaticString("Transfer-Encoding: chunked\r\n")
            isChunked = true
        } else if !hasBodyFraming, !isUpgrade, head.method != .GET, head.method != .HEAD {
            // No framing means no body; say so (an app reading a POST may wait for one otherwise).
            buffer.writeStaticString("Content-Length: 0\r\n")
        }

        if inboundForwardedFor.isEmpty {
            if let peer { HTTPWire.writeHeader("X-Forwarded-For", peer, into: &buffer) }
        } else {
            var forwardedFor = inboundForwardedFor.joined(separator: ", ")
            if let peer { forwardedFor = forwardedFor.isEmpty ? peer : forwardedFor + ", " + peer }
            if !forwardedFor.isEmpty { HTTPWire.writeHeader("X-Forwarded-For", forwardedFor, into: &buffer) }
        }
        if let inboundProto {
            HTTPWire.writeHeader("X-Forwarded-Proto", inboundProto, into: &buffer)
        } else {
            buffer.writeStaticString(config.server.tls == nil ? "X-Forwarded-Proto: http\r\n" : "X-Forwarded-Proto: https\r\n")
        }
        if let forwardedHost = inboundHost ?? host { HTTPWire.writeHeader("X-Forwarded-Host", forwardedHost, into: &buffer) }
        if config.server.via { buffer.writeStaticString("Via: 1.1 sessiongate\r\n") }
        HTTPWire.writeHeader("X-Request-Id", requestID, into: &buffer)

        if let session {
            let claims = TokenClaims(
                issuer: config.signing.issuer, audience: config.signing.audience, issuedAt: now,
                expiresAt: now + config.signing.ttl, sid: session.handle, data: session.data,
                method: head.method.rawValue, path: target.path)
            HTTPWire.writeHeader("X-Session-Token", runtime.signer.sign(claims: claims), into: &buffer)
            for (name, field) in runtime.injected {
                if let value = session.data[field], let text = headerText(value) {
                    HTTPWire.writeHeader(name, text, into: &buffer)
                }
            }
        }
        HTTPWire.endHead(into: &buffer)
        return Head(bytes: buffer, isHEAD: head.method == .HEAD, isChunked: isChunked)
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

    private static func field(_ name: String) -> Field {
        switch name.utf8.count {
        case 4: return named(name, "host") ? .host : .other
        case 6: return named(name, "cookie") ? .cookie : named(name, "expect") ? .expect : .other
        case 7: return named(name, "upgrade") ? .upgrade : .other
        case 9: return named(name, "forwarded") ? .forwarded : .other
        case 12: return named(name, "x-request-id") ? .requestID : .other
        case 14:
            // `HTTP2-Settings` belongs to the h2c upgrade, never forwarded.
            return named(name, "content-length") ? .contentLength : named(name, "http2-settings") ? .upgrade : .other
        case 15: return named(name, "x-forwarded-for") ? .forwardedFor : .other
        case 16: return named(name, "x-forwarded-host") ? .forwardedHost : .other
        case 17:
            return named(name, "transfer-encoding") ? .transferEncoding : named(name, "x-forwarded-proto") ? .forwardedProto : .other
        default: return .other
        }
    }

    /// Whether `name` is `lower` (lower-case ASCII), ignoring ASCII case.
    private static func named(_ name: String, _ lower: StaticString) -> Bool {
        let expected = UnsafeRawBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount)
        guard name.utf8.count == expected.count else { return false }
        var index = 0
        for byte in name.utf8 {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            guard folded == expected[index] else { return false }
            index += 1
        }
        return true
    }

    /// Whether `Connection` named `name` (`nominated` is lower case).
    private static func isNominated(_ name: String, _ nominated: [String]) -> Bool {
        nominated.contains { candidate in
            candidate.utf8.count == name.utf8.count
                && zip(name.utf8, candidate.utf8).allSatisfy { byte, lower in
                    (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) == lower
                }
        }
    }
}

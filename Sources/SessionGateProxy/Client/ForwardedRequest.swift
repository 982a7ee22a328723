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
        for head: RequestHead, target: NormalizedTarget, session: StoredSession?, runtime: ProxyRuntime,
        peer: String?, now: UnixSeconds, upgradeToken: String?, requestID: String, into reused: consuming ByteBuffer? = nil,
        tokenScratch: TokenScratch? = nil
    ) -> Head {
        let policy = runtime.headerPolicy
        let config = runtime.config
        let trusted = peer.map { address in config.server.trustedProxies.contains { $0.contains(address) } } ?? false
        let cookieName = config.cookie.name

        let capacity = 512 + head.headers.bytes.readableBytes + (session == nil ? 0 : 1024)
        // Taken over, not copied: a second reference would make `clear` allocate a new buffer.
        var buffer: ByteBuffer
        switch consume reused {
        case .some(let kept): buffer = kept
        case .none: buffer = ByteBufferAllocator().buffer(capacity: capacity)
        }
        buffer.clear(minimumCapacity: capacity)
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
        // Each kept field is copied from the client's own bytes (name and value as they came).
        head.headers.withBytes { bytes in
            let nominated = policy.connectionNominated(fields: head.headers.ranges, in: bytes)
            for field in head.headers.ranges {
                let kind = Self.field(field.name, in: bytes)
                switch kind {
                case .requestID:
                    continue  // replaced by the exchange's id below
                case .forwardedFor:
                    if trusted { inboundForwardedFor.append(HeadFields.text(field.value, in: bytes)) }
                    continue
                case .forwardedProto:
                    if trusted { inboundProto = HeadFields.text(field.value, in: bytes) }
                    continue
                case .forwardedHost:
                    if trusted { inboundHost = HeadFields.text(field.value, in: bytes) }
                    continue
                case .forwarded:
                    if trusted { HTTPWire.writeField(field, of: bytes, into: &buffer) }
                    continue
                case .cookie:
                    writeCookie(field, of: bytes, without: cookieName, into: &buffer)
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
                    if host == nil { host = HeadFields.text(field.value, in: bytes) }
                case .other:
                    break
                }
                // Every check below ignores ASCII case (names are tokens: ASCII only).
                let name = UnsafeRawBufferPointer(rebasing: bytes[field.name])
                if HeaderPolicy.isHopByHop(name) || policy.isSpoofable(name)
                    || (!nominated.isEmpty && HeadFields.isNamed(field.name, by: nominated, in: bytes))
                {
                    continue
                }
                // Method/URL overrides always; forwarding headers in `_`/`.` spellings (which CGI and
                // WSGI servers fold into the same variable) from untrusted peers.
                if HeaderPolicy.isAlwaysRemoved(name) || (!trusted && HeaderPolicy.isForwardingHeader(name)) { continue }
                if kind == .contentLength { keptContentLength = true }
                HTTPWire.writeField(field, of: bytes, into: &buffer)
            }
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
            (tokenScratch ?? TokenScratch()).writeTokenField(claims, signer: runtime.signer, into: &buffer)
            for (name, field) in runtime.injected {
                if let value = session.data[field], let text = headerText(value) {
                    HTTPWire.writeHeader(name, text, into: &buffer)
                }
            }
        }
        HTTPWire.endHead(into: &buffer)
        return Head(bytes: buffer, isHEAD: head.method == .HEAD, isChunked: isChunked)
    }

    /// The `Cookie` field at `field` without the pairs named `name` (`CookieHeader.removing`),
    /// written from the client's bytes as they came; nothing when no pair is left.
    private static func writeCookie(
        _ field: RequestHeadLayout.Field, of bytes: UnsafeRawBufferPointer, without name: String, into buffer: inout ByteBuffer
    ) {
        var name = name
        let value = UnsafeRawBufferPointer(rebasing: bytes[field.value]).assumingMemoryBound(to: UInt8.self)
        var kept = 0
        name.withUTF8 { name in
            CookieHeader.forEachPair(notNamed: name, in: value) { pair in
                if kept == 0 {
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.name]))
                    buffer.writeStaticString(": ")
                } else {
                    buffer.writeStaticString("; ")
                }
                buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: value[pair])))
                kept += 1
            }
        }
        if kept > 0 { buffer.writeStaticString("\r\n") }
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

    /// What the field named at `name` is to the loop above (matched ignoring ASCII case).
    private static func field(_ name: Range<Int>, in bytes: UnsafeRawBufferPointer) -> Field {
        func named(_ lower: StaticString) -> Bool { HeaderName.equals(name, lower, in: bytes) }
        switch name.count {
        case 4: return named("host") ? .host : .other
        case 6: return named("cookie") ? .cookie : named("expect") ? .expect : .other
        case 7: return named("upgrade") ? .upgrade : .other
        case 9: return named("forwarded") ? .forwarded : .other
        case 12: return named("x-request-id") ? .requestID : .other
        case 14:
            // `HTTP2-Settings` belongs to the h2c upgrade, never forwarded.
            return named("content-length") ? .contentLength : named("http2-settings") ? .upgrade : .other
        case 15: return named("x-forwarded-for") ? .forwardedFor : .other
        case 16: return named("x-forwarded-host") ? .forwardedHost : .other
        case 17: return named("transfer-encoding") ? .transferEncoding : named("x-forwarded-proto") ? .forwardedProto : .other
        default: return .other
        }
    }
}

import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SessionGateCore
import SessionGateStores
import Testing

@testable import SessionGateProxy

/// The upstream request head as bytes (`ForwardedRequest.head`) and the request side of
/// `UpstreamConnection` that frames the body after it.
@Suite struct ForwardedRequestTests {
    private static let now: UnixSeconds = 1_800_000_000

    private func runtime(_ configure: (inout ProxyConfig) -> Void = { _ in }) throws -> ProxyRuntime {
        var config = ProxyHarness.defaultConfig(upstreamPort: 8080)
        configure(&config)
        let policy = SessionPolicy(
            idleTimeout: config.session.idleTimeout, absoluteTimeout: config.session.absoluteTimeout, userKey: config.session.userKey)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try ProxyRuntime(
            config: config, store: MemorySessionStore(policy: policy, random: SystemRandomBytes()), clock: ManualClock(Self.now),
            logger: logger)
    }

    private func forward(
        _ method: HTTPMethod, _ path: String, query: String? = nil, headers: [(String, String)], runtime: ProxyRuntime,
        session: StoredSession? = nil, peer: String? = "192.0.2.7", upgradeToken: String? = nil,
        tokenScratch: TokenScratch? = nil
    ) -> (text: String, head: ForwardedRequest.Head) {
        let inbound = RequestHead.parsing(method, path, headers: headers)
        let head = ForwardedRequest.head(
            for: inbound, target: NormalizedTarget(path: path, query: query), session: session, runtime: runtime, peer: peer,
            now: Self.now, upgradeToken: upgradeToken, requestID: "req-1", tokenScratch: tokenScratch)
        return (String(buffer: head.bytes), head)
    }

    @Test func aTypicalRequestByteForByte() throws {
        let runtime = try runtime { $0.upstream.url.basePath = "/base" }
        let (text, head) = forward(
            .GET, "/public/a", query: "x=%2F&y=1",
            headers: [("Host", "app.test"), ("Accept", "*/*"), ("Connection", "keep-alive"), ("User-Agent", "wrk")],
            runtime: runtime)
        #expect(
            text
                == "GET /base/public/a?x=%2F&y=1 HTTP/1.1\r\nHost: app.test\r\nAccept: */*\r\nUser-Agent: wrk\r\n"
                + "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: app.test\r\nX-Request-Id: req-1\r\n\r\n")
        #expect(!head.isHEAD && !head.isChunked)

        let via = try self.runtime { $0.server.via = true }
        #expect(
            forward(.HEAD, "/", headers: [("host", "h")], runtime: via, peer: nil).text
                == "HEAD / HTTP/1.1\r\nhost: h\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\nVia: 1.1 sessiongate\r\nX-Request-Id: req-1\r\n\r\n"
        )
        #expect(forward(.HEAD, "/", headers: [], runtime: via).head.isHEAD)
    }

    /// A value with obs-text (bytes ≥ 0x80, not UTF-8) goes upstream byte for byte: nothing is
    /// decoded into a `String` and re-encoded on the way (no U+FFFD, no second reading).
    @Test func obsTextValuesPassByteForByte() throws {
        let text: [UInt8] = Array("GET /p HTTP/1.1\r\nHost: a\r\nX-Name: caf".utf8) + [0xE9, 0xFF] + Array("\r\n\r\n".utf8)
        let forwarded = try #require(try forwardRawGET(text), "obs-text refused by the parser")
        let expected: [UInt8] = Array("X-Name: caf".utf8) + [0xE9, 0xFF] + Array("\r\n".utf8)
        #expect(Self.contains(forwarded, expected), "obs-text value changed on the way")
    }

    /// The session pair is taken out of a `Cookie` read as raw bytes, whatever surrounds it:
    /// obs-text (not UTF-8) in the other pairs passes byte for byte, and never the session value.
    @Test func theSessionPairLeavesACookieWithObsText() throws {
        let cookie: [UInt8] = Array("Cookie: a=caf".utf8) + [0xE9] + Array(";__Host-session=sealed; b=".utf8) + [0xFF]
        let text: [UInt8] = Array("GET /p HTTP/1.1\r\nHost: a\r\n".utf8) + cookie + Array("\r\n\r\n".utf8)
        let forwarded = try #require(try forwardRawGET(text), "obs-text refused by the parser")
        let expected: [UInt8] = Array("Cookie: a=caf".utf8) + [0xE9] + Array("; b=".utf8) + [0xFF] + Array("\r\n".utf8)
        #expect(Self.contains(forwarded, expected), "other pairs changed on the way")
        #expect(!Self.contains(forwarded, Array("sealed".utf8)), "session value forwarded")
    }

    /// The upstream head's bytes for the raw request `text` (a GET of /p without a session), or
    /// nil when the request parser refuses it.
    private func forwardRawGET(_ text: [UInt8]) throws -> [UInt8]? {
        let parser = RequestHeadParser(limits: .init(maxHeadBytes: 4096, maxTargetBytes: 1024, maxHeaderCount: 50))
        guard case .complete(let layout) = parser.parse(text) else { return nil }
        let inbound = RequestHead(bytes: ByteBuffer(bytes: text), layout: layout, method: .GET, isKeepAlive: true, announcesBody: false)
        let head = ForwardedRequest.head(
            for: inbound, target: NormalizedTarget(path: "/p", query: nil), session: nil, runtime: try runtime(), peer: nil,
            now: Self.now, upgradeToken: nil, requestID: "req-1")
        return Array(head.bytes.readableBytesView)
    }

    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        bytes.indices.contains { bytes[$0...].starts(with: needle) }
    }

    @Test func spoofedHopByHopAndNominatedHeadersAreRemoved() throws {
        let runtime = try runtime()
        let (text, _) = forward(
            .GET, "/public/a",
            headers: [
                ("Host", "app.test"), ("X-Session-Token", "forged"), ("x_user.id", "forged"), ("X-Session-Set", "forged"),
                ("X-Forwarded-For", "forged"), ("X-Forwarded-Host", "forged"), ("X-Forwarded-Proto", "forged"),
                ("X_Forwarded_Prefix", "forged"), ("Forwarded", "for=forged"), ("X-Real-IP", "forged"),
                ("X-HTTP-Method-Override", "forged"), ("x.original.url", "forged"), ("Keep-Alive", "forged"), ("TE", "forged"),
                ("Trailer", "forged"), ("Proxy-Connection", "forged"), ("Upgrade", "forged"), ("HTTP2-Settings", "forged"),
                ("Expect", "forged"), ("X-Request-Id", "forged"), ("Connection", "close, X-Nominated, X-Session-Token, Host"),
                ("X-NOMINATED", "forged"), ("X-Kept", "yes"),
            ], runtime: runtime)
        #expect(!text.contains("forged"), "\(text)")
        #expect(
            text
                == "GET /public/a HTTP/1.1\r\nHost: app.test\r\nX-Kept: yes\r\nX-Forwarded-For: 192.0.2.7\r\n"
                + "X-Forwarded-Proto: http\r\nX-Forwarded-Host: app.test\r\nX-Request-Id: req-1\r\n\r\n")
    }

    @Test func forwardingHeadersOfTrustedPeersAreKept() throws {
        let runtime = try runtime { $0.server.trustedProxies = [CIDR("192.0.2.0/24")!] }
        let (text, _) = forward(
            .GET, "/",
            headers: [
                ("Host", "inner"), ("X-Forwarded-For", "203.0.113.1"), ("x-forwarded-for", "203.0.113.2"),
                ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "outer"), ("Forwarded", "for=203.0.113.1"),
                ("X-Real-IP", "203.0.113.1"), ("X-HTTP-Method-Override", "DELETE"),
            ], runtime: runtime)
        #expect(
            text
                == "GET / HTTP/1.1\r\nHost: inner\r\nForwarded: for=203.0.113.1\r\nX-Real-IP: 203.0.113.1\r\n"
                + "X-Forwarded-For: 203.0.113.1, 203.0.113.2, 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: outer\r\n"
                + "X-Request-Id: req-1\r\n\r\n")
    }

    @Test func theSessionCookieIsTakenOutOfCookie() throws {
        let runtime = try runtime()
        let (text, _) = forward(
            .GET, "/", headers: [("Cookie", "a=1; __Host-session=sealed; b=2"), ("cookie", "__Host-session=again")], runtime: runtime,
            peer: nil)
        #expect(text == "GET / HTTP/1.1\r\nCookie: a=1; b=2\r\nX-Forwarded-Proto: http\r\nX-Request-Id: req-1\r\n\r\n")

        // Each field keeps its own name spelling and its other pairs as they came (spacing
        // inside a pair, quotes, a pair without "="); a quoted or spaced session pair goes too.
        let (kept, _) = forward(
            .GET, "/",
            headers: [
                ("COOKIE", " x = \"1\" ;__Host-session=\"sealed\";flag ;  __Host-session = s2 "),
                ("Cookie", "__Host-session-other=keep"), ("Cookie", " ; ; "),
            ], runtime: runtime, peer: nil)
        #expect(
            kept
                == "GET / HTTP/1.1\r\nCOOKIE: x = \"1\"; flag\r\nCookie: __Host-session-other=keep\r\n"
                + "X-Forwarded-Proto: http\r\nX-Request-Id: req-1\r\n\r\n")
    }

    @Test func theTokenAndInjectedHeadersComeWithASession() throws {
        let runtime = try runtime()
        let policy = SessionPolicy(idleTimeout: 3600, absoluteTimeout: 86400, userKey: "user_id")
        let session = StoredSession(
            ticket: SessionTicket([UInt8](repeating: 5, count: SessionID.byteCount)),
            handle: SessionID(bytes: [UInt8](repeating: 5, count: SessionID.byteCount))!.handle,
            data: ["user_id": "u1", "role": "admin"], times: policy.newTimes(now: Self.now))
        let (text, _) = forward(.GET, "/api/x", headers: [("Host", "a")], runtime: runtime, session: session, peer: nil)
        let token = runtime.signer.sign(
            claims: TokenClaims(
                issuer: runtime.config.signing.issuer, audience: runtime.config.signing.audience, issuedAt: Self.now,
                expiresAt: Self.now + runtime.config.signing.ttl, sid: session.handle, data: session.data, method: "GET",
                path: "/api/x"))
        #expect(
            text
                == "GET /api/x HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\nX-Request-Id: req-1\r\n"
                + "X-Session-Token: \(token)\r\nX-User-Id: u1\r\n\r\n")

        var unsafe = session
        unsafe.data["user_id"] = "u1\r\nX-Admin: 1"
        let (refused, _) = forward(.GET, "/api/x", headers: [], runtime: runtime, session: unsafe, peer: nil)
        #expect(!refused.contains("X-User-Id") && !refused.contains("X-Admin"))
    }

    /// One loop's `TokenScratch` signs request after request: each token is the one
    /// `sign(claims:)` gives for that request's session, before and after a session larger than
    /// the scratch keeps (whose arrays are dropped).
    @Test func aSharedTokenScratchSignsEachRequestForItsOwnSession() throws {
        let runtime = try runtime()
        let policy = SessionPolicy(idleTimeout: 3600, absoluteTimeout: 86400, userKey: "user_id")
        func session(_ user: String, padding: Int = 0) -> StoredSession {
            let id = SessionID(bytes: [UInt8](repeating: UInt8(user.utf8.count), count: SessionID.byteCount))!
            var data: [String: JSONValue] = ["user_id": .string(user)]
            if padding > 0 { data["notes"] = .string(String(repeating: "n", count: padding)) }
            return StoredSession(ticket: SessionTicket(id.bytes), handle: id.handle, data: data, times: policy.newTimes(now: Self.now))
        }
        let scratch = TokenScratch()
        for (user, padding) in [("alice", 0), ("bob", 0), ("carol", 2 * TokenScratch.maxKeptCapacity), ("alice", 0)] {
            let stored = session(user, padding: padding)
            let (text, _) = forward(.GET, "/api/x", headers: [], runtime: runtime, session: stored, peer: nil, tokenScratch: scratch)
            let token = runtime.signer.sign(
                claims: TokenClaims(
                    issuer: runtime.config.signing.issuer, audience: runtime.config.signing.audience, issuedAt: Self.now,
                    expiresAt: Self.now + runtime.config.signing.ttl, sid: stored.handle, data: stored.data, method: "GET",
                    path: "/api/x"))
            #expect(text.contains("\r\nX-Session-Token: \(token)\r\n"), "token of \(user)")
        }
    }

    /// The buffer a loop keeps for heads is written in place: handed over, not copied (a second
    /// reference would make the head's `clear` allocate a fresh one on every request).
    @Test func theKeptHeadBufferIsReusedInPlace() throws {
        let runtime = try runtime()
        let inbound = RequestHead.parsing(.GET, "/", headers: [("Host", "a")])
        var kept = ByteBufferAllocator().buffer(capacity: 4096)
        kept.writeString("the previous request's head")
        let storage = kept.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        let head = ForwardedRequest.head(
            for: inbound, target: NormalizedTarget(path: "/", query: nil), session: nil, runtime: runtime, peer: nil,
            now: Self.now, upgradeToken: nil, requestID: "req-1", into: consume kept)
        #expect(head.bytes.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) } == storage)
        #expect(String(buffer: head.bytes).hasPrefix("GET / HTTP/1.1\r\nHost: a\r\n"))
    }

    @Test func bodiesAreFramedAsTheHeadSays() throws {
        let runtime = try runtime()
        let chunked = forward(.POST, "/", headers: [("Transfer-Encoding", "chunked")], runtime: runtime, peer: nil)
        #expect(chunked.text == "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Forwarded-Proto: http\r\nX-Request-Id: req-1\r\n\r\n")
        #expect(chunked.head.isChunked)

        let length = forward(.PUT, "/", headers: [("content-length", "5")], runtime: runtime, peer: nil)
        #expect(length.text == "PUT / HTTP/1.1\r\ncontent-length: 5\r\nX-Forwarded-Proto: http\r\nX-Request-Id: req-1\r\n\r\n")
        #expect(!length.head.isChunked)

        for method in [HTTPMethod.POST, .DELETE, .OPTIONS] {
            let bodiless = forward(method, "/", headers: [], runtime: runtime, peer: nil)
            #expect(
                bodiless.text
                    == "\(method.rawValue) / HTTP/1.1\r\nContent-Length: 0\r\nX-Forwarded-Proto: http\r\nX-Request-Id: req-1\r\n\r\n")
        }
        for method in [HTTPMethod.GET, .HEAD] {
            #expect(!forward(method, "/", headers: [], runtime: runtime).text.contains("Content-Length"))
        }

        let upgrade = forward(
            .GET, "/ws", headers: [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "k")], runtime: runtime,
            peer: nil, upgradeToken: "websocket")
        #expect(
            upgrade.text
                == "GET /ws HTTP/1.1\r\nSec-WebSocket-Key: k\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                + "X-Forwarded-Proto: http\r\nX-Request-Id: req-1\r\n\r\n")
    }

    /// What `UpstreamConnection` puts on the wire after the head: the body as it is, or re-chunked
    /// (the client's own chunk sizes and trailers never pass), and the last chunk at the end.
    @Test(arguments: [false, true])
    func theConnectionWritesTheBodyInTheHeadsFraming(chunked: Bool) throws {
        let runtime = try runtime()
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        let connection = UpstreamConnection(channel: channel, handler: UpstreamHandler())
        let headers = chunked ? [("Transfer-Encoding", "chunked")] : [("Content-Length", "2053")]
        let head = forward(.POST, "/", headers: headers, runtime: runtime, peer: nil).head
        connection.writeHead(head)
        connection.writeBody(channel.allocator.buffer(string: "abc"))
        connection.writeBody(channel.allocator.buffer(string: ""))
        connection.writeBody(channel.allocator.buffer(string: String(repeating: "z", count: 2050)))
        connection.writeEnd()
        connection.flush()
        var wire = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { wire += String(buffer: buffer) }
        let headText = String(buffer: head.bytes)
        let body =
            chunked
            ? "3\r\nabc\r\n802\r\n" + String(repeating: "z", count: 2050) + "\r\n0\r\n\r\n" : "abc" + String(repeating: "z", count: 2050)
        #expect(wire == headText + body)
    }
}

import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SessionGateCore

/// The tiny upstream app behind `sessiongate demo`: a login form, a page that shows the session
/// and the verified token claims, logout, and "log out everywhere". It never sees a cookie: it
/// reads `X-Session-Token` and answers with `X-Session-Set` / `X-Session-Action`, as any app
/// behind SessionGate would.
public enum DemoApp {
    /// Starts the app on 127.0.0.1 (port 0 = any free port) and returns its channel. With
    /// `sessionsAPI`, the home page lists the user's devices through the proxy's admin API.
    static func start(
        group: any EventLoopGroup, port: Int = 0, hmacSecret: [UInt8], sessionsAPI: AdminAPIClient? = nil
    ) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(DemoHandler(secret: hmacSecret, sessionsAPI: sessionsAPI))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
    }
}

/// Verifies an HS256 token the way an upstream app would (any JWT library does the same).
enum DemoTokenVerifier {
    static func claims(of token: String, secret: [UInt8]) -> [String: JSONValue]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let signature = Base64URL.decode(parts[2]),
            let payload = Base64URL.decode(parts[1]),
            let header = Base64URL.decode(parts[0]).flatMap({ try? JSONParser.parse($0) }), header["alg"] == "HS256"
        else { return nil }
        let signingInput = Array("\(parts[0]).\(parts[1])".utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: SymmetricKey(data: secret))
        else { return nil }
        return (try? JSONParser.parse(payload))?.objectValue
    }
}

final class DemoHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The HS256 secret shared with the proxy (a `Secret`, so the handler never prints it).
    let secret: Secret<[UInt8]>
    /// The proxy's sessions API, for "Your devices" (an app behind a sidecar reaches its admin
    /// listener on loopback).
    let sessionsAPI: AdminAPIClient?
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(secret: [UInt8], sessionsAPI: AdminAPIClient?) {
        self.secret = Secret(secret)
        self.sessionsAPI = sessionsAPI
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(var buffer):
            if body.count < 16384 { body += buffer.readBytes(length: min(buffer.readableBytes, 16384 - body.count)) ?? [] }
        case .end:
            guard let head else { return }
            self.head = nil
            handle(head, context: context)
        }
    }

    private func handle(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let parts = head.uri.split(separator: "?", maxSplits: 1)
        let path = parts.first.map(String.init) ?? "/"
        let query = parts.count > 1 ? FormDecoding.decode(String(parts[1])) : [:]
        let claims = head.headers.first(name: "x-session-token").flatMap { DemoTokenVerifier.claims(of: $0, secret: secret.revealed) }
        let data = claims?["data"]?.objectValue
        switch (head.method, path) {
        case (.GET, "/login"):
            send(.ok, html: DemoPages.login(next: LoginRedirect.safeNext(query["next"] ?? "/") ?? "/"), context: context)
        case (.POST, "/login"):
            let form = FormDecoding.decode(String(decoding: body, as: UTF8.self))
            let user = (form["user"] ?? "").trimmingCharacters(in: " ")
            guard !user.isEmpty, user.utf8.count <= 64 else {
                return send(.badRequest, html: DemoPages.login(next: "/", error: "Enter a user name."), context: context)
            }
            let role: JSONValue = user == "admin" ? "admin" : "user"
            let patch: JSONValue = ["user_id": .string(user), "role": role, "visits": 0]
            var headers = [("X-Session-Set", JSONSerializer.string(patch))]
            if form["remember"] == "on" { headers.append(("X-Session-Lifetime", String(30 * 86400))) }
            redirect(to: LoginRedirect.safeNext(form["next"] ?? "/") ?? "/", headers: headers, context: context)
        case (.POST, "/logout"):
            redirect(to: "/login", headers: [("X-Session-Action", "destroy")], context: context)
        case (.POST, "/logout-everywhere"):
            redirect(to: "/login", headers: [("X-Session-Action", "revoke-all")], context: context)
        case (.POST, "/devices/sign-out"):
            // The proxy checks that the sid is another session of this user; anything else is a no-op.
            let sid = FormDecoding.decode(String(decoding: body, as: UTF8.self))["sid"] ?? ""
            let valid =
                !sid.isEmpty
                && sid.utf8.allSatisfy {
                    $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0)
                        || (0x61...0x7A).contains($0)
                }
            redirect(to: "/", headers: valid ? [("X-Session-Action", "revoke \(sid)")] : [], context: context)
        case (.GET, "/api/me"):
            let body: JSONValue = claims.map { .object($0) } ?? ["error": "no session"]
            send(.ok, json: JSONSerializer.string(body), context: context)
        case (.GET, "/"):
            guard let claims, let data else {
                return redirect(to: "/login", headers: [], context: context)
            }
            let visits: Int64 = { if case .int(let n)? = data["visits"] { return n + 1 } else { return 1 } }()
            let headers = [("X-Session-Set", "{\"visits\":\(visits)}")]
            guard let sessionsAPI, let user = data["user_id"]?.stringValue else {
                return send(.ok, html: DemoPages.home(claims: claims, data: data, devices: nil), headers: headers, context: context)
            }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let listing = context.eventLoop.makePromise(of: JSONValue?.self)
            listing.completeWithTask {
                let encoded = user.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? user
                guard let response = try? await sessionsAPI.send(method: "GET", target: "/sessions?user=\(encoded)"),
                    response.status == 200
                else { return nil }
                return try? JSONParser.parse(response.body, maxDepth: 8, maxBytes: 1 << 20)
            }
            listing.futureResult.whenSuccess { devices in
                let (handler, context) = bound.value
                let page = DemoPages.home(claims: claims, data: data, devices: DemoDevices(listing: devices, claims: claims))
                handler.send(.ok, html: page, headers: headers, context: context)
            }
        default:
            send(.notFound, html: DemoPages.page(title: "Not found", body: "<p>Nothing here.</p>"), context: context)
        }
    }

    private func redirect(to location: String, headers: [(String, String)], context: ChannelHandlerContext) {
        var all = headers
        all.append(("Location", location))
        respond(.seeOther, type: "text/plain", body: "", headers: all, context: context)
    }

    private func send(_ status: HTTPResponseStatus, html: String, headers: [(String, String)] = [], context: ChannelHandlerContext) {
        respond(status, type: "text/html; charset=utf-8", body: html, headers: headers, context: context)
    }

    private func send(_ status: HTTPResponseStatus, json: String, context: ChannelHandlerContext) {
        respond(status, type: "application/json", body: json, headers: [], context: context)
    }

    private func respond(
        _ status: HTTPResponseStatus, type: String, body: String, headers extra: [(String, String)],
        context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders(extra)
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Cache-Control", value: "no-store")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// `application/x-www-form-urlencoded` and query strings.
enum FormDecoding {
    static func decode(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = percentDecode(kv[0]) else { continue }
            out[key] = kv.count > 1 ? percentDecode(kv[1]) ?? "" : ""
        }
        return out
    }

    static func percentDecode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.first == set { text.removeFirst() }
        while text.last == set { text.removeLast() }
        return String(text)
    }
}

import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SessionGateCore

// The proxy's request-head path: the bytes a client sends go through the same NIO HTTP/1 server
// pipeline the listener configures, and every head that comes out goes through the same pure
// checks `ClientHandler` and `ForwardedRequest` apply (target normalisation, the header policy,
// the Cookie header). Properties: the decoder never hands over a head that could be framed or
// read two ways, and the header policy agrees with an independent model of it.

private let maxHeaderBytes = 16384
private let injected = ["X-User-Id", "x_role"]
private let policy = HeaderPolicy(injectedHeaders: injected)

private let limits: NIOHTTPDecoderLimitConfiguration = {
    // As ProxyServer sets them.
    var limits = NIOHTTPDecoderLimitConfiguration()
    limits.maxHeaderListSize = maxHeaderBytes * 2
    limits.maxHeaderFieldSize = maxHeaderBytes * 2
    limits.maxHeaderFieldCount = 1000
    return limits
}()

private func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        true
    default:
        Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        let scalars = Set(set.unicodeScalars)
        var text = Substring(self)
        while let first = text.unicodeScalars.first, scalars.contains(first) { text = Substring(text.unicodeScalars.dropFirst()) }
        while let last = text.unicodeScalars.last, scalars.contains(last) { text = Substring(text.unicodeScalars.dropLast()) }
        return text
    }
}

/// Lower case, with `_` and `.` read as `-` — how CGI-style servers see a header name.
private func canonical(_ name: some StringProtocol) -> String {
    String(
        decoding: name.utf8.map { byte -> UInt8 in
            if byte >= 0x41 && byte <= 0x5a { return byte | 0x20 }
            return byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") ? UInt8(ascii: "-") : byte
        }, as: UTF8.self)
}

private let canonicalInjected = Set(injected.map(canonical))
private let canonicalProxyOwned = Set(HeaderPolicy.proxyOwnedHeaders.map(canonical))

private func expectedSpoofable(_ name: String) -> Bool {
    let folded = canonical(name)
    return folded == "x-session" || folded.hasPrefix("x-session-") || canonicalInjected.contains(folded)
}

/// Checks on a head as soon as the decoder hands it over (NIO delivers a head before it judges
/// the body framing, so `ClientHandler` sees heads that are refused a moment later).
private func checkHead(_ head: HTTPRequestHead) {
    // Names and values: what the upstream receives must mean the same to it.
    for (name, value) in head.headers {
        check(!name.isEmpty && name.utf8.allSatisfy(isTokenByte), "header name \(describe(name)) is not a token")
        check(!value.utf8.contains { $0 == 0x0d || $0 == 0x0a || $0 == 0x00 }, "header value with CR, LF or NUL")
        check(policy.isSpoofable(name) == expectedSpoofable(name), "isSpoofable(\(describe(name))) disagrees with the model")
        check(
            HeaderPolicy.isHopByHop(name) == HeaderPolicy.hopByHopHeaders.contains(name.lowercased()),
            "isHopByHop(\(describe(name))) is wrong")
    }
    let connection = head.headers["connection"]
    let nominated = policy.connectionNominated(connection)
    check(Set(nominated).count == nominated.count, "Connection names listed twice")
    for name in nominated {
        check(!name.isEmpty && !name.utf8.contains { $0 >= 0x41 && $0 <= 0x5a }, "Connection name \(describe(name)) not lower-cased")
        check(
            !expectedSpoofable(name) && !canonicalProxyOwned.contains(canonical(name)),
            "Connection may remove the protected header \(describe(name))")
    }

    // The target, as ClientHandler normalises it.
    if case .success(let target) = PathNormalizer.normalize(
        target: head.uri, maxLength: maxHeaderBytes, host: head.headers.first(name: "host"))
    {
        checkNormalizedTarget(target, inputLength: head.uri.utf8.count)
    }
    for cookie in head.headers["cookie"] {
        for value in CookieHeader.values(named: "__Host-session", in: cookie) {
            check(!value.unicodeScalars.contains(";"), "a cookie value contains ';'")
        }
    }
}

/// Whether `ClientHandler.hasUnambiguousTransferEncoding` lets the head through (a copy of it:
/// it lives in SessionGateProxy). NIO accepts an empty `Transfer-Encoding:`, and any
/// `Transfer-Encoding` on an upgrade request; the proxy answers those with 400.
private func proxyAcceptsTransferEncoding(_ head: HTTPRequestHead) -> Bool {
    let codings = head.headers["transfer-encoding"]
    guard !codings.isEmpty else { return true }
    guard head.version.major == 1, head.version.minor >= 1 else { return false }
    let last = codings.joined(separator: ",").split(separator: ",", omittingEmptySubsequences: false).last ?? ""
    return canonical(last.trimmingCharacters(in: " \t")) == "chunked"
}

/// Checks on a request the decoder accepted completely and the proxy goes on to forward: exactly
/// one way to read its body.
private func checkFraming(_ head: HTTPRequestHead) {
    guard proxyAcceptsTransferEncoding(head) else { return }
    let lengths = head.headers["content-length"]
    let codings = head.headers["transfer-encoding"]
    check(lengths.isEmpty || codings.isEmpty, "a head with both Content-Length and Transfer-Encoding was accepted")
    for length in lengths {
        check(!length.isEmpty && length.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "Content-Length \(describe(length)) accepted")
    }
    check(Set(lengths).count <= 1, "differing Content-Length values accepted")
}

private func run(_ bytes: [UInt8], chunk: Int) {
    let channel = EmbeddedChannel()
    defer { _ = try? channel.finish() }
    do {
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withPipeliningAssistance: true, withServerUpgrade: nil, withErrorHandling: false,
            withOutboundHeaderValidation: true, withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
    } catch {
        check(false, "pipeline setup failed: \(error)")
    }
    var offset = 0
    var current: HTTPRequestHead?
    while offset < bytes.count {
        let end = min(bytes.count, offset + chunk)
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
        } catch {
            return  // a malformed request: the proxy closes the connection
        }
        offset = end
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let head):
                checkHead(head)
                current = head
            case .body: break
            case .end:
                if let current { checkFraming(current) }
                current = nil
                // Answer, so the pipelining handler releases the next request; it may decode (and
                // refuse) the next one right away.
                do {
                    try channel.writeOutbound(
                        HTTPServerResponsePart.head(.init(version: .http1_1, status: .ok, headers: ["content-length": "0"])))
                    try channel.writeOutbound(HTTPServerResponsePart.end(nil))
                } catch {
                    return
                }
                while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPHead(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let bytes = input.rest()
    run(bytes, chunk: max(bytes.count, 1))
    run(bytes, chunk: 7)  // heads cut across reads
    return 0
}

import FuzzSupport
import NIOHTTP1
import SessionGateCore

// The proxy's request-head path: the bytes a client sends go through the proxy's own codec
// (`RequestHeadParser` and `RequestBodyFraming`, the real code `HTTP1RequestDecoder` drives), and
// every head it accepts goes through the same pure checks `ClientHandler` and `ForwardedRequest`
// apply (target normalisation, the header policy, the Cookie header). Properties: no head that
// could be framed or read two ways is accepted, the header policy agrees with an independent
// model of it, its in-place forms (names read from the head's bytes — what the data plane calls)
// agree with its `String` forms, and the `Connection` tokens it finds in place match a model.

private let maxHeaderBytes = 16384
private let injected = ["X-User-Id", "x_role"]
private let policy = HeaderPolicy(injectedHeaders: injected)

private let parser = RequestHeadParser(
    limits: .init(maxHeadBytes: maxHeaderBytes * 2, maxTargetBytes: maxHeaderBytes * 2, maxHeaderCount: 1000))

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

/// Checks on a head the parser accepted (before its framing is judged).
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

/// Checks on a request whose framing `RequestBodyFraming` accepted (the proxy goes on to forward
/// it): exactly one way to read its body.
private func checkFraming(_ head: HTTPRequestHead, _ framing: RequestBodyFraming) {
    let lengths = head.headers["content-length"]
    let codings = head.headers["transfer-encoding"]
    check(lengths.isEmpty || codings.isEmpty, "a head with both Content-Length and Transfer-Encoding was accepted")
    for length in lengths {
        check(!length.isEmpty && length.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "Content-Length \(describe(length)) accepted")
    }
    check(lengths.count <= 1, "repeated Content-Length accepted")
    if !codings.isEmpty {
        check(head.version.minor >= 1, "Transfer-Encoding accepted on HTTP/1.0")
        let last = codings.joined(separator: ",").split(separator: ",", omittingEmptySubsequences: false).last ?? ""
        check(canonical(last.trimmingCharacters(in: " \t")) == "chunked", "a Transfer-Encoding not ending in chunked was accepted")
        check(framing == .chunked, "Transfer-Encoding framed as \(framing)")
    } else if let length = lengths.first {
        check(framing == .length(Int(length) ?? -1), "Content-Length \(length) framed as \(framing)")
    } else {
        check(framing == .none, "a head without framing fields framed as \(framing)")
    }
}

/// The header policy read in place, as `ForwardedRequest` and the response side call it, against
/// its `String` form on the same fields.
private func checkInPlace(_ layout: RequestHeadLayout, _ raw: UnsafeRawBufferPointer) {
    var connectionValues: [String] = []
    for field in layout.fields {
        let name = String(decoding: raw[field.name], as: UTF8.self)
        let bytes = UnsafeRawBufferPointer(rebasing: raw[field.name])
        check(policy.isSpoofable(bytes) == policy.isSpoofable(name), "isSpoofable in place disagrees for \(describe(name))")
        check(HeaderPolicy.isHopByHop(bytes) == HeaderPolicy.isHopByHop(name), "isHopByHop in place disagrees for \(describe(name))")
        check(
            HeaderPolicy.isAlwaysRemoved(bytes) == HeaderPolicy.isAlwaysRemoved(name),
            "isAlwaysRemoved in place disagrees for \(describe(name))")
        check(
            HeaderPolicy.isForwardingHeader(bytes) == HeaderPolicy.isForwardingHeader(name),
            "isForwardingHeader in place disagrees for \(describe(name))")
        if HeaderName.equals(field.name, "connection", in: raw) {
            connectionValues.append(String(decoding: raw[field.value], as: UTF8.self))
        }
    }
    // Only tokens can name a field (names are tokens): compare those, ASCII-lower-cased.
    func asciiLowercased(_ bytes: some Sequence<UInt8>) -> String {
        String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
    var inPlace: [String] = []
    for token in policy.connectionNominated(fields: layout.fields, in: raw) where raw[token].allSatisfy(isTokenByte) {
        let name = asciiLowercased(raw[token])
        if !inPlace.contains(name) { inPlace.append(name) }
        // A field named by this token is found by the range comparison the data plane uses.
        for field in layout.fields where asciiLowercased(raw[field.name]) == name {
            check(HeaderName.equals(field.name, token, in: raw), "a nominated field is not matched in place")
        }
    }
    // The model: each comma-separated element, without blanks, lower-cased, once — never a
    // header the proxy sets or protects, nor a hop-by-hop one (removed anyway).
    var expected: [String] = []
    for value in connectionValues {
        // Split and trimmed on bytes (a `Character` split would miss a comma followed by a
        // combining mark).
        for element in value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
            var bytes = element[...]
            while let first = bytes.first, first == 0x20 || first == 0x09 { bytes = bytes.dropFirst() }
            while let last = bytes.last, last == 0x20 || last == 0x09 { bytes = bytes.dropLast() }
            let name = asciiLowercased(bytes)
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else { continue }
            guard !expectedSpoofable(name), !canonicalProxyOwned.contains(canonical(name)),
                !HeaderPolicy.hopByHopHeaders.contains(name)
            else { continue }
            if !expected.contains(name) { expected.append(name) }
        }
    }
    check(inPlace == expected, "Connection nomination disagrees with the model: \(inPlace) vs \(expected)")
}

/// The first request head in `bytes`, as `HTTP1RequestDecoder` hands it to `ClientHandler`.
private func run(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
        guard case .complete(let layout) = parser.parse(raw) else { return }
        func text(_ range: Range<Int>) -> String { String(decoding: raw[range], as: UTF8.self) }
        var headers = HTTPHeaders()
        for field in layout.fields { headers.add(name: text(field.name), value: text(field.value)) }
        let head = HTTPRequestHead(
            version: .init(major: 1, minor: layout.minorVersion), method: .init(rawValue: text(layout.method)),
            uri: text(layout.target), headers: headers)
        checkHead(head)
        checkInPlace(layout, raw)
        if case .success(let framing) = RequestBodyFraming.decide(layout, in: raw) { checkFraming(head, framing) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPHead(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let bytes = input.rest()
    run(bytes)
    return 0
}

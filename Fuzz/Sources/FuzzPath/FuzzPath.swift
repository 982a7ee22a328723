import FuzzSupport
import SessionGateCore

// Request-target normalisation, route matching and path globs. The whole input is the raw
// request target (so seed files are plain paths such as `/admin/%2e%2e/x`).

private let maxLength = 1 << 16

private let routes: RouteTable = {
    func rule(_ index: Int, _ glob: String, _ access: RouteAccess, _ methods: Set<String>? = nil) -> RouteRule {
        RouteRule(index: index, pattern: try! PathGlob(glob), methods: methods, access: access)
    }
    var table = ProxyConfig.Routes()
    table.defaultAccess = .session
    table.rules = [
        rule(0, "/login", .public, ["GET", "POST"]),
        rule(1, "/public/**", .public),
        rule(2, "/static/**", .public, ["GET"]),
        rule(3, "/internal/**", .deny),
        rule(4, "/a/*/c", .deny),
        rule(5, "/admin/**", .session),
        rule(6, "/**", .public, ["OPTIONS"]),
    ]
    return RouteTable(table)
}()

/// The rule index a literal reading of the route list gives, written independently of `PathGlob`.
private func expectedRule(method: String, path: String) -> Int? {
    let segments = path.split(separator: "/").map(String.init)
    func under(_ prefix: String) -> Bool { segments.first == prefix }
    let upper = method.uppercased()
    let isGet = upper == "GET" || upper == "HEAD"
    if segments == ["login"], isGet || upper == "POST" { return 0 }
    if under("public") { return 1 }
    if under("static"), isGet { return 2 }
    if under("internal") { return 3 }
    if segments.count == 3, segments[0] == "a", segments[2] == "c" { return 4 }
    if under("admin") { return 5 }
    if upper == "OPTIONS" { return 6 }
    return nil
}

/// The same target with its first unreserved path character (outside an escape) percent-encoded:
/// it must normalise alike.
private func encodingOneUnreserved(_ input: [UInt8]) -> [UInt8]? {
    let pathEnd = input.firstIndex(of: UInt8(ascii: "?")) ?? input.count
    var index = 0
    while index < pathEnd, !isUnreserved(input[index]) {
        index += input[index] == UInt8(ascii: "%") ? 3 : 1
    }
    guard index < pathEnd else { return nil }
    let byte = input[index]
    let digits = Array((index % 2 == 0 ? "0123456789abcdef" : "0123456789ABCDEF").utf8)  // both spellings
    let escape = [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]]
    return Array(input[..<index]) + escape + Array(input[(index + 1)...])
}

/// The same target with the hex digits of every escape in the path flipped to the other case.
private func flippingEscapeCase(_ input: [UInt8]) -> [UInt8] {
    var out = input
    let pathEnd = input.firstIndex(of: UInt8(ascii: "?")) ?? input.count
    var index = 0
    while index < pathEnd {
        if input[index] == UInt8(ascii: "%") {
            for offset in 1...2 where index + offset < pathEnd {
                let byte = out[index + offset]
                if (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) { out[index + offset] = byte - 0x20 }
                if (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) { out[index + offset] = byte + 0x20 }
            }
            index += 3
        } else {
            index += 1
        }
    }
    return out
}

private func normalize(_ bytes: [UInt8], host: String? = "example.com") -> Result<NormalizedTarget, TargetRejection> {
    PathNormalizer.normalize(target: String(decoding: bytes, as: UTF8.self), maxLength: maxLength, host: host)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPath(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let raw = input.rest()
    // The proxy hands the normaliser a Swift String; invalid UTF-8 arrives repaired.
    let bytes = Array(String(decoding: raw, as: UTF8.self).utf8)
    let result = normalize(bytes)
    // The shortcut for targets already normal agrees with the rules, whenever it is taken.
    let text = String(decoding: bytes, as: UTF8.self)
    if let plain = PathNormalizer.alreadyNormal(text) {
        check(
            PathNormalizer.normalizeByRules(target: text, maxLength: Int.max, host: nil) == .success(plain),
            "the shortcut disagrees with the rules for \(describe(bytes))")
    }

    // Same answer for a case-flipped escape and for an escaped unreserved character.
    if bytes.first == UInt8(ascii: "/") {
        let flipped = normalize(flippingEscapeCase(bytes))
        check(flipped == result, "escape hex case changes the result for \(describe(bytes))")
        if let encoded = encodingOneUnreserved(bytes) {
            check(normalize(encoded) == result, "encoding an unreserved character changes the result for \(describe(bytes))")
        }
        check(normalize(bytes, host: nil) == result, "origin-form result depends on Host for \(describe(bytes))")
    }

    guard case .success(let target) = result else { return 0 }
    checkNormalizedTarget(target, inputLength: bytes.count)
    let again = PathNormalizer.normalize(target: target.requestTarget, maxLength: maxLength, host: nil)
    check(again == .success(target), "not a fixed point: \(describe(target.requestTarget))")

    for method in ["GET", "head", "POST", "OPTIONS", "DELETE"] {
        let match = routes.match(method: method, path: target.path)
        check(routes.match(method: method, path: target.path) == match, "route match is not deterministic")
        let expected = expectedRule(method: method, path: target.path)
        check(
            match.rule?.index == expected,
            "\(method) \(describe(target.path)) matched rule \(match.rule?.index ?? -1), expected \(expected ?? -1)")
    }

    // A normalised path, taken as a literal glob, matches itself; with `/**` it matches itself too.
    if !target.path.contains("*") {
        do {
            let exact = try PathGlob(target.path)
            check(exact.matches(target.path), "glob \(describe(target.path)) does not match its own path")
            let below = try PathGlob(target.path.hasSuffix("/") ? target.path + "**" : target.path + "/**")
            check(below.matches(target.path), "glob with /** does not match \(describe(target.path))")
        } catch {
            check(false, "a normalised path is not a valid literal glob: \(describe(target.path)) (\(error))")
        }
    }

    // Any glob that compiles and has no wildcard matches the normalisation of its own text.
    let source = String(decoding: raw, as: UTF8.self)
    if let glob = try? PathGlob(source), !source.contains("*") {
        switch normalize(Array(source.utf8), host: nil) {
        case .success(let normalized):
            check(normalized.query == nil, "glob with a query compiled: \(describe(source))")
            check(glob.matches(normalized.path), "glob \(describe(source)) does not match its normalised text")
        case .failure(let rejection):
            check(false, "glob \(describe(source)) compiled but its text is rejected: \(rejection)")
        }
    }
    return 0
}

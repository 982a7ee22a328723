import Prototypes
import SessionGateCore

#if canImport(Glibc)
    import Glibc
#endif

/// Prototype versions of core functions ("proto" group), each named after the original it replaces.
func prototypeBenchmarks(_ f: Fixtures) -> [Benchmark] {
    let name = Fixtures.cookieName
    let p = PrototypeFixtures(f)
    var list: [Benchmark] = []
    func add(_ label: String, _ run: @escaping (Int) -> Void) {
        list.append(Benchmark(group: "proto", name: label, run: run))
    }
    add("cookie/open (32-byte ticket)") { n in
        for _ in 0..<n { blackHole(p.keyRing.open(f.sealedCookieSubstring, cookieName: name)) }
    }
    add("cookie/open ChaCha20-Poly1305 (format change)") { n in
        for _ in 0..<n { blackHole(p.keyRing.openChaCha(p.chaChaCookie, cookieName: name)) }
    }
    add("cookie/CookieHeader.values (4 cookies)") { n in
        for _ in 0..<n { blackHole(ProtoCookieHeader.values(named: name, in: f.cookieHeader)) }
    }
    add("cookie/CookieHeader.removing (4 cookies)") { n in
        for _ in 0..<n { blackHole(ProtoCookieHeader.removing(named: name, from: f.cookieHeader)) }
    }
    add("token/sign HS256 (200 B session)") { n in
        for _ in 0..<n { blackHole(p.signer.sign(claims: f.claims)) }
    }
    add("path/normalize /api/v1/users/42/orders?x=1") { n in
        for _ in 0..<n { blackHole(ProtoPathNormalizer.normalize(target: f.target, maxLength: 16384, host: nil)) }
    }
    add("path/normalize (dots, escapes, //)") { n in
        for _ in 0..<n { blackHole(ProtoPathNormalizer.normalize(target: f.messyTarget, maxLength: 16384, host: nil)) }
    }
    let path = opaque("/api/v1/users/42/orders")
    add("route/match 10 rules (hit rule 8)") { n in
        for _ in 0..<n { blackHole(p.routes.match(method: "GET", path: path)) }
    }
    let health = opaque("/health")
    add("route/match 10 rules (hit rule 0)") { n in
        for _ in 0..<n { blackHole(p.routes.match(method: "GET", path: health)) }
    }
    let unmatched = opaque("/favicon.ico")
    add("route/match 10 rules (no rule, default)") { n in
        for _ in 0..<n { blackHole(p.routes.match(method: "GET", path: unmatched)) }
    }
    add("json/parse 200 B session (String)") { n in
        for _ in 0..<n { blackHole(try? ProtoJSONParser.parse(f.sessionJSON)) }
    }
    let sessionObject = JSONValue.object(f.sessionData)
    add("json/serialize 200 B session") { n in
        for _ in 0..<n { blackHole(FastJSON.serialize(sessionObject)) }
    }
    add("session/SessionID.storeKey") { n in
        for _ in 0..<n { blackHole(ProtoSessionHashes.storeKey(f.sessionID)) }
    }
    add("session/SessionID.handle") { n in
        for _ in 0..<n { blackHole(ProtoSessionHashes.handle(f.sessionID)) }
    }
    add("request/pure core work, memory-store session") { n in
        for _ in 0..<n { blackHole(prototypeSessionRequest(f, p)) }
    }
    return list
}

/// What the prototypes need beyond the shared fixtures.
struct PrototypeFixtures {
    let keyRing: ProtoKeyRing
    let chaChaCookie: String
    let signer: ProtoHS256Signer
    let routes: ProtoRouteTable

    init(_ f: Fixtures) {
        keyRing = ProtoKeyRing(keys: [(0..<32).map { UInt8($0) }])
        chaChaCookie = keyRing.sealChaCha(f.ticket, cookieName: Fixtures.cookieName, nonce: Array(repeating: 9, count: 12))
        signer = ProtoHS256Signer(secret: Array("an-hs256-secret-of-at-least-32-bytes!!".utf8), keyID: f.hs256.keyID)
        routes = ProtoRouteTable(f.routes.routes)
    }
}

/// `sessionRequest` with every prototype in place of its original.
@inline(never)
func prototypeSessionRequest(_ f: Fixtures, _ p: PrototypeFixtures) -> Int {
    guard case .success(let target) = ProtoPathNormalizer.normalize(target: f.target, maxLength: 16384, host: nil)
    else { return -1 }
    let match = p.routes.match(method: "GET", path: target.path)
    let nominated = f.headerPolicy.connectionNominated(f.connectionValues)
    var total = nominated.count + match.explanation.utf8.count
    for value in ProtoCookieHeader.values(named: Fixtures.cookieName, in: f.cookieHeader) {
        guard let ticket = p.keyRing.open(value, cookieName: Fixtures.cookieName),
            let id = SessionID(bytes: ticket)
        else { continue }
        total += ProtoSessionHashes.storeKey(id).utf8.count
        break
    }
    for header in f.requestHeaderNames {
        if HeaderPolicy.isHopByHop(header) || f.headerPolicy.isSpoofable(header) || nominated.contains(header) {
            continue
        }
        total += 1
    }
    total += ProtoCookieHeader.removing(named: Fixtures.cookieName, from: f.cookieHeader)?.utf8.count ?? 0
    let claims = TokenClaims(
        issuer: "sessiongate", audience: "upstream", issuedAt: 1_732_752_000, expiresAt: 1_732_752_060,
        sid: f.claims.sid, data: f.sessionData, method: "GET", path: target.path)
    total += p.signer.sign(claims: claims).utf8.count
    return total
}

/// Each prototype must give exactly what its original gives: on the benchmark inputs and on a
/// few thousand generated ones (a small differential test, seeded so every run checks the same).
func checkPrototypes(_ f: Fixtures, differential: Bool) {
    let p = PrototypeFixtures(f)
    var failures: [String] = []
    func same<T: Equatable>(_ a: T, _ b: T, _ what: @autoclosure () -> String) {
        if a != b, failures.count < 10 { failures.append(what()) }
    }
    let name = Fixtures.cookieName
    same(p.signer.sign(claims: f.claims), f.hs256.sign(claims: f.claims), "HS256 token")
    same(p.keyRing.openChaCha(p.chaChaCookie, cookieName: name), f.ticket, "ChaCha cookie opens")
    same(FastJSON.serialize(.object(f.sessionData)), JSONSerializer.serialize(.object(f.sessionData)), "serialize")
    same(ProtoSessionHashes.storeKey(f.sessionID), f.sessionID.storeKey, "storeKey")
    same(ProtoSessionHashes.handle(f.sessionID), f.sessionID.handle, "handle")
    same(prototypeSessionRequest(f, p), sessionRequest(f), "request")

    var random = SplitMix(seed: 7)
    let cookieAlphabet = Array(" ;=\"\t_aZ9-é\u{301}".unicodeScalars)
    let pathAlphabet = Array("/./..%2e%41%c3%a9a;?#\\ ~".unicodeScalars)
    let jsonSamples = [
        f.sessionJSON, f.patchText, #"{"a":1,"a":2,"b":{"c":[1,{"d":null}],"c":true}}"#, "{}", #"[{"x":{}}]"#,
        #"{"k":"\u2028\"\\\n\u0001é"}"#, #"{"a":1"#, #"{"a" 1}"#, "[1,2,]",
    ]
    for sample in jsonSamples {
        let original = try? JSONParser.parse(sample)
        same(try? ProtoJSONParser.parse(sample), original, "parse \(sample.utf8.count) B")
        if let original { same(FastJSON.serialize(original), JSONSerializer.serialize(original), "serialize") }
    }
    for _ in 0..<(differential ? 3000 : 0) {
        let header = String(String.UnicodeScalarView((0..<random.next(upTo: 24)).map { _ in cookieAlphabet[random.next(upTo: cookieAlphabet.count)] }))
        for cookie in ["a", "_", "Z9", name] {
            // Compared as bytes: String equality would let canonically equivalent spellings pass.
            same(
                ProtoCookieHeader.values(named: cookie, in: header).map { Array($0.utf8) },
                CookieHeader.values(named: cookie, in: header).map { Array($0.utf8) }, "values")
            same(
                ProtoCookieHeader.removing(named: cookie, from: header).map { Array($0.utf8) },
                CookieHeader.removing(named: cookie, from: header).map { Array($0.utf8) }, "removing")
        }
        let target = "/" + String(String.UnicodeScalarView((0..<random.next(upTo: 20)).map { _ in pathAlphabet[random.next(upTo: pathAlphabet.count)] }))
        let original = PathNormalizer.normalize(target: target, maxLength: 16384, host: nil)
        same(ProtoPathNormalizer.normalize(target: target, maxLength: 16384, host: nil), original, "normalize")
        if case .success(let normalized) = original {
            for method in ["GET", "head", "POST", "DELETE"] {
                same(p.routes.match(method: method, path: normalized.path), f.routes.match(method: method, path: normalized.path), "match")
            }
        }
        let bytes = (0..<random.next(upTo: 40)).map { _ in UInt8(truncatingIfNeeded: random.next(upTo: 256)) }
        let encoded = Base64URL.encode(bytes)
        same(bytes.withUnsafeBytes { FastBase64URL.encode($0) }, encoded, "base64url encode")
        var mangled = Array(encoded.utf8)
        if !mangled.isEmpty, random.next(upTo: 2) == 0 { mangled[random.next(upTo: mangled.count)] = UInt8(truncatingIfNeeded: random.next(upTo: 128)) }
        let text = String(decoding: mangled, as: UTF8.self)
        same(FastBase64URL.decode(text), Base64URL.decode(text), "base64url decode")
        let value = Substring(f.sealedCookie.prefix(random.next(upTo: f.sealedCookie.count + 1)))
        same(p.keyRing.open(value, cookieName: name), f.keyRing.open(value, cookieName: name), "open")
    }
    for path in ["/health", "/api/v1/users/42/orders", "/static/a/b", "/api/v1/auth/x", "/admin", "/internal"] {
        for method in ["GET", "HEAD", "post", "DELETE"] {
            same(p.routes.match(method: method, path: path), f.routes.match(method: method, path: path), "match \(path)")
        }
    }
    if !failures.isEmpty {
        print("prototype check failed: " + failures.joined(separator: "; "))
        exit(1)
    }
}

/// A small seeded generator, so the differential checks are the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(upTo bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(max(bound, 1)))
    }
}

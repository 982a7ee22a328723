import SessionGateCore

/// The benchmarks of SessionGateCore's hot pure functions, in table order.
func coreBenchmarks(_ f: Fixtures) -> [Benchmark] {
    let name = Fixtures.cookieName
    var list: [Benchmark] = []
    func add(_ group: String, _ label: String, _ run: @escaping (Int) -> Void) {
        list.append(Benchmark(group: group, name: label, run: run))
    }

    // Cookie: opened on every request that carries one; sealed on login/rotation/touch.
    add("cookie", "open (32-byte ticket)") { n in
        for _ in 0..<n { blackHole(f.keyRing.open(f.sealedCookieSubstring, cookieName: name)) }
    }
    add("cookie", "open (2nd key of 2)") { n in
        for _ in 0..<n { blackHole(f.rotatingKeyRing.open(f.sealedCookieSubstring, cookieName: name)) }
    }
    add("cookie", "open (garbage value)") { n in
        let garbage = opaque(Substring("not-a-sealed-value"))
        for _ in 0..<n { blackHole(f.keyRing.open(garbage, cookieName: name)) }
    }
    add("cookie", "seal (fixed random)") { n in
        let random = CountingRandomBytes()
        for _ in 0..<n { blackHole(f.keyRing.seal(f.ticket, cookieName: name, random: random)) }
    }
    add("cookie", "seal (system random)") { n in
        let random = SystemRandomBytes()
        for _ in 0..<n { blackHole(f.keyRing.seal(f.ticket, cookieName: name, random: random)) }
    }
    add("cookie", "CookieHeader.values (4 cookies)") { n in
        for _ in 0..<n { blackHole(CookieHeader.values(named: name, in: f.cookieHeader)) }
    }
    add("cookie", "CookieHeader.removing (4 cookies)") { n in
        for _ in 0..<n { blackHole(CookieHeader.removing(named: name, from: f.cookieHeader)) }
    }

    // Token: signed on every request with a session.
    add("token", "sign HS256 (200 B session)") { n in
        for _ in 0..<n { blackHole(f.hs256.sign(claims: f.claims)) }
    }
    add("token", "sign EdDSA (200 B session)") { n in
        for _ in 0..<n { blackHole(f.edDSA.sign(claims: f.claims)) }
    }

    // Path and route: every request.
    add("path", "normalize /api/v1/users/42/orders?x=1") { n in
        for _ in 0..<n { blackHole(PathNormalizer.normalize(target: f.target, maxLength: 16384, host: nil)) }
    }
    add("path", "normalize (dots, escapes, //)") { n in
        for _ in 0..<n { blackHole(PathNormalizer.normalize(target: f.messyTarget, maxLength: 16384, host: nil)) }
    }
    let path = opaque("/api/v1/users/42/orders")
    add("route", "match 10 rules (hit rule 8)") { n in
        for _ in 0..<n { blackHole(f.routes.match(method: "GET", path: path)) }
    }
    let health = opaque("/health")
    add("route", "match 10 rules (hit rule 0)") { n in
        for _ in 0..<n { blackHole(f.routes.match(method: "GET", path: health)) }
    }
    let unmatched = opaque("/favicon.ico")
    add("route", "match 10 rules (no rule, default)") { n in
        for _ in 0..<n { blackHole(f.routes.match(method: "GET", path: unmatched)) }
    }

    // Header policy: every header of every request.
    add("headers", "isHopByHop+isSpoofable x12 headers") { n in
        for _ in 0..<n {
            var dropped = 0
            for header in f.requestHeaderNames
            where HeaderPolicy.isHopByHop(header) || f.headerPolicy.isSpoofable(header) {
                dropped += 1
            }
            blackHole(dropped)
        }
    }
    add("headers", "connectionNominated [keep-alive]") { n in
        for _ in 0..<n { blackHole(f.headerPolicy.connectionNominated(f.connectionValues)) }
    }
    add("headers", "connectionNominated (3 names)") { n in
        for _ in 0..<n { blackHole(f.headerPolicy.connectionNominated(f.connectionValuesNaming)) }
    }

    // JSON: stores parse and serialise session data; directives carry merge patches.
    add("json", "parse 200 B session (String)") { n in
        for _ in 0..<n { blackHole(try? JSONParser.parse(f.sessionJSON)) }
    }
    add("json", "parse 200 B session ([UInt8])") { n in
        for _ in 0..<n { blackHole(try? JSONParser.parse(f.sessionJSONBytes)) }
    }
    let sessionObject = JSONValue.object(f.sessionData)
    add("json", "serialize 200 B session") { n in
        for _ in 0..<n { blackHole(JSONSerializer.serialize(sessionObject)) }
    }
    add("json", "MergePatch.apply (3 members)") { n in
        for _ in 0..<n { blackHole(MergePatch.apply(f.patch, to: sessionObject)) }
    }

    // Directives: parsed on every upstream response (almost always none).
    let none: [String] = opaque([])
    add("directives", "parse (no directive)") { n in
        for _ in 0..<n { blackHole(SessionDirectives.parse(set: none, action: none, lifetime: none)) }
    }
    let set = opaque([f.patchText])
    let action = opaque(["rotate"])
    let lifetime = opaque(["3600"])
    add("directives", "parse (set + action + lifetime)") { n in
        for _ in 0..<n { blackHole(SessionDirectives.parse(set: set, action: action, lifetime: lifetime)) }
    }

    // Session id hashes: every store load (storeKey) and every session the Redis/SQL stores decode (handle).
    add("session", "SessionID.storeKey") { n in
        for _ in 0..<n { blackHole(f.sessionID.storeKey) }
    }
    add("session", "SessionID.handle") { n in
        for _ in 0..<n { blackHole(f.sessionID.handle) }
    }

    // All the pure work of one GET with a memory-store session, in the order the proxy does it.
    add("request", "pure core work, memory-store session") { n in
        for _ in 0..<n { blackHole(sessionRequest(f)) }
    }
    return list
}

/// What the data plane does in SessionGateCore for one session request: normalise, route, find
/// and open the cookie, derive the store key, filter 12 headers, strip the cookie, sign HS256.
@inline(never)
func sessionRequest(_ f: Fixtures) -> Int {
    guard case .success(let target) = PathNormalizer.normalize(target: f.target, maxLength: 16384, host: nil)
    else { return -1 }
    let match = f.routes.match(method: "GET", path: target.path)
    let nominated = f.headerPolicy.connectionNominated(f.connectionValues)
    var total = nominated.count + match.explanation.utf8.count
    for value in CookieHeader.values(named: Fixtures.cookieName, in: f.cookieHeader) {
        guard let ticket = f.keyRing.open(value, cookieName: Fixtures.cookieName),
            let id = SessionID(bytes: ticket)
        else { continue }
        total += id.storeKey.utf8.count
        break
    }
    for header in f.requestHeaderNames {
        if HeaderPolicy.isHopByHop(header) || f.headerPolicy.isSpoofable(header) || nominated.contains(header) {
            continue
        }
        total += 1
    }
    total += CookieHeader.removing(named: Fixtures.cookieName, from: f.cookieHeader)?.utf8.count ?? 0
    let claims = TokenClaims(
        issuer: "sessiongate", audience: "upstream", issuedAt: 1_732_752_000, expiresAt: 1_732_752_060,
        sid: f.claims.sid, data: f.sessionData, method: "GET", path: target.path)
    total += f.hs256.sign(claims: claims).utf8.count
    return total
}

import SessionGateCore

#if canImport(Glibc)
    import Glibc
#endif

/// Makes sure each benchmark measures the path it claims to (a cookie that opens, the intended
/// route rule, …), so a fixture typo cannot turn a benchmark into a cheap failure path.
func checkFixtures(_ f: Fixtures, differential: Bool) {
    func require(_ condition: Bool, _ what: String) {
        if !condition {
            print("fixture check failed: \(what)")
            exit(1)
        }
    }
    let name = Fixtures.cookieName
    require(f.sessionJSON.utf8.count == 207, "session JSON is 207 bytes")
    require(f.keyRing.open(f.sealedCookieSubstring, cookieName: name) == f.ticket, "cookie opens")
    require(f.rotatingKeyRing.open(f.sealedCookieSubstring, cookieName: name) == f.ticket, "cookie opens with key 2")
    require(CookieHeader.values(named: name, in: f.cookieHeader) == [f.sealedCookieSubstring], "cookie found")
    require(f.requestHeaderNames.count == 12, "12 headers")
    require(f.routes.routes.rules.count == 10, "10 rules")
    require(f.routes.match(method: "GET", path: "/api/v1/users/42/orders").rule?.index == 8, "route hits rule 8")
    require(f.routes.match(method: "GET", path: "/health").rule?.index == 0, "route hits rule 0")
    require(f.routes.match(method: "GET", path: "/favicon.ico").rule == nil, "no rule for /favicon.ico")
    guard case .success(let target) = PathNormalizer.normalize(target: f.target, maxLength: 16384, host: nil) else {
        return require(false, "target normalises")
    }
    require(target.path == "/api/v1/users/42/orders" && target.query == "x=1", "target splits")
    guard case .success(let messy) = PathNormalizer.normalize(target: f.messyTarget, maxLength: 16384, host: nil)
    else { return require(false, "messy target normalises") }
    require(messy.path == "/api/v1/users/42/orders/~user-", "messy target normalises to \(messy.path)")
    let token = f.hs256.sign(claims: f.claims)
    require(token.split(separator: ".").count == 3, "HS256 token has 3 parts")
    require(f.edDSA.sign(claims: f.claims).split(separator: ".").count == 3, "EdDSA token has 3 parts")
    guard case .object(let merged) = MergePatch.apply(f.patch, to: .object(f.sessionData)) else {
        return require(false, "merge gives an object")
    }
    require(merged["mfa"] == nil && merged["last_path"] != nil, "merge patch applies")
    guard case .success(let directives) = SessionDirectives.parse(set: [f.patchText], action: ["rotate"], lifetime: ["3600"])
    else { return require(false, "directives parse") }
    require(directives.patches.count == 1 && directives.actions == [.rotate] && directives.lifetime == 3600, "directives")
    require(f.sessionID.storeKey.utf8.count == 64, "store key is 64 hex digits")
    checkPrototypes(f, differential: differential)
}

import Prototypes
import SessionGateCore

#if canImport(Glibc)
    import Glibc
#endif

/// Prototype versions of core functions ("proto" group), each named after the original it replaces.
/// (The ported ones — routing, Cookie header, HS256, JSON output, base64url, cookie open, path
/// normalisation, session hashes — now live in SessionGateCore; their rows are the core rows.)
func prototypeBenchmarks(_ f: Fixtures) -> [Benchmark] {
    let name = Fixtures.cookieName
    let p = PrototypeFixtures(f)
    var list: [Benchmark] = []
    func add(_ label: String, _ run: @escaping (Int) -> Void) {
        list.append(Benchmark(group: "proto", name: label, run: run))
    }
    add("cookie/open ChaCha20-Poly1305 (format change)") { n in
        for _ in 0..<n { blackHole(p.keyRing.openChaCha(p.chaChaCookie, cookieName: name)) }
    }
    return list
}

/// What the prototypes need beyond the shared fixtures.
struct PrototypeFixtures {
    let keyRing: ProtoKeyRing
    let chaChaCookie: String

    init(_ f: Fixtures) {
        keyRing = ProtoKeyRing(keys: [(0..<32).map { UInt8($0) }])
        chaChaCookie = keyRing.sealChaCha(f.ticket, cookieName: Fixtures.cookieName, nonce: Array(repeating: 9, count: 12))
    }
}

/// Each prototype must give exactly what its original gives (the ChaCha format change: that it
/// opens what it sealed). (A faster JSON parser was prototyped here — members collected on one
/// stack, −15% instructions — and removed rather than kept as a copy of the core parser.)
func checkPrototypes(_ f: Fixtures, differential _: Bool) {
    let p = PrototypeFixtures(f)
    var failures: [String] = []
    func same<T: Equatable>(_ a: T, _ b: T, _ what: @autoclosure () -> String) {
        if a != b, failures.count < 10 { failures.append(what()) }
    }
    same(p.keyRing.openChaCha(p.chaChaCookie, cookieName: Fixtures.cookieName), f.ticket, "ChaCha cookie opens")
    if !failures.isEmpty {
        print("prototype check failed: " + failures.joined(separator: "; "))
        exit(1)
    }
}

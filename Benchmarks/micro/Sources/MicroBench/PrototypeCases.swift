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
    add("json/parse 200 B session (String)") { n in
        for _ in 0..<n { blackHole(try? ProtoJSONParser.parse(f.sessionJSON)) }
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
/// opens what it sealed), on the benchmark inputs and, for the parser, on a few edge cases.
func checkPrototypes(_ f: Fixtures, differential _: Bool) {
    let p = PrototypeFixtures(f)
    var failures: [String] = []
    func same<T: Equatable>(_ a: T, _ b: T, _ what: @autoclosure () -> String) {
        if a != b, failures.count < 10 { failures.append(what()) }
    }
    same(p.keyRing.openChaCha(p.chaChaCookie, cookieName: Fixtures.cookieName), f.ticket, "ChaCha cookie opens")
    let jsonSamples = [
        f.sessionJSON, f.patchText, #"{"a":1,"a":2,"b":{"c":[1,{"d":null}],"c":true}}"#, "{}", #"[{"x":{}}]"#,
        #"{"k":"\u2028\"\\\n\u0001é"}"#, #"{"a":1"#, #"{"a" 1}"#, "[1,2,]",
    ]
    for sample in jsonSamples {
        same(try? ProtoJSONParser.parse(sample), try? JSONParser.parse(sample), "parse \(sample.utf8.count) B")
    }
    if !failures.isEmpty {
        print("prototype check failed: " + failures.joined(separator: "; "))
        exit(1)
    }
}

import Testing

@testable import SessionGateProxy

@Suite struct RequestIDTests {
    /// Generated ids are distinct, share the process's prefix, are plain tokens a next hop keeps
    /// (`accept` returns them unchanged), and stay within the 15 bytes a `String` holds inline.
    @Test func generatedIDsAreDistinctShortTokens() {
        let ids = (0..<5000).map { _ in RequestID.next() }
        #expect(Set(ids).count == ids.count)
        let prefix = ids[0].split(separator: "-")[0]
        #expect(prefix.utf8.count == 8)
        for id in ids {
            #expect(id.hasPrefix(prefix + "-"))
            #expect(id.utf8.count <= 15, "\(id)")
            #expect(RequestID.accept(id) == id)
        }
    }

    @Test func aClientsPlainIDIsKeptAnythingElseReplaced() {
        #expect(RequestID.accept("trace-1.2:3_x") == "trace-1.2:3_x")
        for bad in ["", "has space", "semi;colon", String(repeating: "a", count: 129), "caf\u{e9}"] {
            #expect(RequestID.accept(bad) != bad)
        }
        #expect(RequestID.accept(nil).utf8.count <= 15)
    }
}

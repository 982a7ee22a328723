import Logging
import SessionGateCore
import SessionGateStores
import Testing

@testable import SessionGateProxy

/// The per-connection memo of the opened session cookie: what it saves (opens counted) and that
/// it answers exactly what opening answers — across tampering, other cookies, several cookies and
/// a reload that drops the key, on one keep-alive connection.
@Suite struct OpenedCookieTests {
    static let quiet = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    static func runtime(keys: [[UInt8]]? = nil) throws -> ProxyRuntime {
        var config = ProxyHarness.defaultConfig(upstreamPort: 9)
        if let keys { config.cookie.keys = keys.map { Secret($0) } }
        let store = MemorySessionStore(
            policy: SessionPolicy(idleTimeout: 1800, absoluteTimeout: 86400, userKey: "user_id"), random: SystemRandomBytes())
        return try ProxyRuntime(config: config, store: store, logger: Self.quiet)
    }

    static func seal(_ ticket: [UInt8], in runtime: ProxyRuntime) -> Substring {
        Substring(runtime.keyRing.seal(ticket, cookieName: runtime.config.cookie.name, random: SystemRandomBytes()))
    }

    /// `SessionFlow.openTicket`, counted.
    final class CountingOpen {
        var opens = 0
        func callAsFunction(_ values: [Substring], _ runtime: ProxyRuntime) -> SessionTicket? {
            opens += 1
            return SessionFlow.openTicket(cookieValues: values, runtime: runtime)
        }
    }

    @Test func theSameCookieOpensOnceAndAnswersTheSameTicket() throws {
        let runtime = try Self.runtime()
        let ticketA = Array(repeating: UInt8(1), count: 32), ticketB = Array(repeating: UInt8(2), count: 32)
        let a = Self.seal(ticketA, in: runtime), b = Self.seal(ticketB, in: runtime)
        var memo = OpenedCookie()
        let open = CountingOpen()
        #expect(memo.ticket(for: [a], runtime: runtime, open: open.callAsFunction)?.bytes == ticketA)
        #expect(memo.ticket(for: [a], runtime: runtime, open: open.callAsFunction)?.bytes == ticketA)
        #expect(open.opens == 1)
        // Another cookie replaces it; the first one is opened again when it comes back.
        #expect(memo.ticket(for: [b], runtime: runtime, open: open.callAsFunction)?.bytes == ticketB)
        #expect(memo.ticket(for: [a], runtime: runtime, open: open.callAsFunction)?.bytes == ticketA)
        #expect(open.opens == 3)
    }

    @Test func aValueThatDiffersAnywhereIsOpenedAndRefused() throws {
        let runtime = try Self.runtime()
        let sealed = Self.seal(Array(repeating: 7, count: 32), in: runtime)
        var memo = OpenedCookie()
        let open = CountingOpen()
        #expect(memo.ticket(for: [sealed], runtime: runtime, open: open.callAsFunction) != nil)
        let bytes = Array(sealed.utf8)
        for index in [0, bytes.count / 2, bytes.count - 1] {
            var tampered = bytes
            tampered[index] = tampered[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let value = Substring(String(decoding: tampered, as: UTF8.self))
            #expect(memo.ticket(for: [value], runtime: runtime, open: open.callAsFunction) == nil, "byte \(index)")
        }
        for value: Substring in [sealed.dropLast(), Substring(sealed + "A"), ""] {
            #expect(memo.ticket(for: [value], runtime: runtime, open: open.callAsFunction) == nil)
        }
        #expect(open.opens == 7, "every differing value is opened, none answered from the memo")
        // The refused values did not replace the good one.
        #expect(memo.ticket(for: [sealed], runtime: runtime, open: open.callAsFunction) != nil)
        #expect(open.opens == 7)
    }

    @Test func anotherConfigurationOpensAgain() throws {
        let oldKey = SystemRandomBytes().bytes(32), newKey = SystemRandomBytes().bytes(32)
        let before = try Self.runtime(keys: [oldKey])
        let sealed = Self.seal(Array(repeating: 3, count: 32), in: before)
        var memo = OpenedCookie()
        let open = CountingOpen()
        #expect(memo.ticket(for: [sealed], runtime: before, open: open.callAsFunction) != nil)
        // A reload that keeps the old key as a second key: still opens, by opening again.
        let rotated = try Self.runtime(keys: [newKey, oldKey])
        #expect(memo.ticket(for: [sealed], runtime: rotated, open: open.callAsFunction) != nil)
        #expect(open.opens == 2)
        // A reload that drops it: refused at once.
        let dropped = try Self.runtime(keys: [newKey])
        #expect(memo.ticket(for: [sealed], runtime: dropped, open: open.callAsFunction) == nil)
        #expect(open.opens == 3)
    }

    /// The memo remembers a runtime by its generation, which no later runtime reuses, even one
    /// built in the memory of a released one (where an address-based key would match).
    @Test func aLaterRuntimeIsANewGenerationEvenAtTheSameAddress() throws {
        let oldKey = SystemRandomBytes().bytes(32), newKey = SystemRandomBytes().bytes(32)
        var memo = OpenedCookie()
        let open = CountingOpen()
        var sealed: Substring = ""
        var generations: Set<UInt64> = []
        do {
            let first = try Self.runtime(keys: [oldKey])
            sealed = Self.seal(Array(repeating: 4, count: 32), in: first)
            #expect(memo.ticket(for: [sealed], runtime: first, open: open.callAsFunction) != nil)
            generations.insert(first.generation)
        }
        for _ in 0..<50 {
            // Each one is released before the next is built, so allocators often reuse the memory.
            let later = try Self.runtime(keys: [newKey])
            #expect(generations.insert(later.generation).inserted)
            #expect(memo.ticket(for: [sealed], runtime: later, open: open.callAsFunction) == nil)
        }
        #expect(open.opens == 51)
    }

    /// The in-place hit (`ticket(ifHolding:)`, what the data plane tries first): the memo's
    /// ticket for exactly its value under its generation, nothing for anything else.
    @Test func theInPlaceHitAnswersOnlyTheSameValueUnderTheSameGeneration() throws {
        let runtime = try Self.runtime()
        let ticket = Array(repeating: UInt8(6), count: 32)
        let sealed = Self.seal(ticket, in: runtime), other = Self.seal(ticket, in: runtime)
        var memo = OpenedCookie()
        func inPlace(_ value: Substring, _ runtime: ProxyRuntime) -> SessionTicket? {
            var value = value
            return value.withUTF8 { memo.ticket(ifHolding: UnsafeRawBufferPointer($0), runtime: runtime) }
        }
        #expect(inPlace(sealed, runtime) == nil, "nothing opened yet")
        #expect(memo.ticket(for: [sealed], runtime: runtime)?.bytes == ticket)
        #expect(inPlace(sealed, runtime)?.bytes == ticket)
        #expect(inPlace(other, runtime) == nil, "another sealing of the same ticket is another value")
        #expect(inPlace(sealed.dropLast(), runtime) == nil)
        #expect(inPlace(Substring(sealed + "A"), runtime) == nil)
        #expect(inPlace(sealed, try Self.runtime()) == nil, "another generation")
    }

    /// Counting a request's session cookies in place agrees with the `String` reading across
    /// several `Cookie` fields, and the first range holds the first value.
    @Test func sessionCookiesAreCountedInPlaceAcrossFields() {
        let name = "__Host-session"
        let cases: [([(String, String)], Int, String?)] = [
            ([("Host", "a")], 0, nil),
            ([("Cookie", "a=1; b=2")], 0, nil),
            ([("Cookie", "a=1; __Host-session=\"v1\" ; b=2")], 1, "v1"),
            ([("Cookie", "a=1"), ("cookie", " __Host-session=v2"), ("COOKIE", "__Host-session=v3")], 2, "v2"),
            ([("Cookie", "__Host-session-x=no; __host-session=no; __Host-session=")], 1, ""),
        ]
        for (fields, count, first) in cases {
            let head = RequestHead.parsing(.GET, "/", headers: fields)
            let found = head.headers.cookieValues(named: name)
            #expect(found.count == count, "\(fields)")
            #expect(found.first.map { head.headers.text($0) } == first, "\(fields)")
            var viaStrings: [Substring] = []
            head.headers.forEachValue("cookie") { CookieHeader.appendValues(named: name, in: $0, to: &viaStrings) }
            #expect(viaStrings.count == count && viaStrings.first.map(String.init) == first, "\(fields)")
        }
    }

    @Test func severalCookiesAndLongValuesAreOpenedEveryTime() throws {
        let runtime = try Self.runtime()
        let ticket = Array(repeating: UInt8(5), count: 32)
        let good = Self.seal(ticket, in: runtime)
        let long = Self.seal(Array(repeating: 9, count: OpenedCookie.maxValueBytes), in: runtime)
        var memo = OpenedCookie()
        let open = CountingOpen()
        for _ in 0..<2 {
            #expect(memo.ticket(for: ["forged", good], runtime: runtime, open: open.callAsFunction)?.bytes == ticket)
            #expect(memo.ticket(for: [long], runtime: runtime, open: open.callAsFunction)?.bytes.count == OpenedCookie.maxValueBytes)
        }
        #expect(open.opens == 4)
    }

    @Test func comparisonIsExact() throws {
        let runtime = try Self.runtime()
        let sealed = Self.seal(Array(repeating: 4, count: 32), in: runtime)
        var memo = OpenedCookie()
        #expect(memo.holds(""), "an empty memo holds the empty value (never looked up: no runtime)")
        _ = memo.ticket(for: [sealed], runtime: runtime)
        #expect(memo.holds(sealed))
        #expect(memo.holds(Substring(String(sealed))), "equal bytes from another string")
        #expect(!memo.holds(sealed.dropLast()))
        #expect(!memo.holds(Substring(sealed + "A")))
        #expect(!memo.holds(""))
        var last = Array(sealed.utf8)
        last[last.count - 1] ^= 1
        #expect(!memo.holds(Substring(String(decoding: last, as: UTF8.self))))
    }

    @Test func constantTimeComparisonOfBuffers() {
        func equal(_ a: String, _ b: String) -> Bool {
            Array(a.utf8).withUnsafeBufferPointer { a in Array(b.utf8).withUnsafeBufferPointer { ConstantTime.equal(a, $0) } }
        }
        #expect(equal("abc", "abc"))
        #expect(!equal("abc", "abd"))
        #expect(!equal("abc", "ab"))
        #expect(!equal("abc", "abcd"))
        #expect(!equal("", "a"))
        #expect(equal("", ""))
    }

    /// The user's view, one keep-alive connection: sessions follow the cookie sent, a forged one is
    /// refused, and a reload that drops the key logs the open connection out on its next request.
    @Test func oneKeepAliveConnectionFollowsEachCookie() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let alice = try await harness.login("alice"), bob = try await harness.login("bob")
        let client = try await harness.client()
        func user(_ cookie: String) async throws -> (status: Int, user: String?) {
            try await client.send(ProxyHarness.requestText("GET", "/api/me", cookie: cookie))
            let response = try await client.response()
            let user = response.status == 200 ? harness.upstream.lastHead?.headers.first(name: "x-user-id") : nil
            return (response.status, user)
        }
        #expect(try await user(alice) == (200, "alice"))
        #expect(try await user(alice) == (200, "alice"))
        #expect(try await user(bob) == (200, "bob"))
        #expect(try await user(String(alice.dropLast()) + (alice.last == "A" ? "B" : "A")).status == 401)
        #expect(try await user(alice) == (200, "alice"))

        var config = harness.config
        config.cookie.keys = [Secret(SystemRandomBytes().bytes(32))]
        harness.runtimes.replace(
            with: try ProxyRuntime(config: config, store: harness.store, clock: harness.clock, logger: Self.quiet))
        #expect(try await user(alice).status == 401, "a key the configuration dropped still opened the cookie")
        #expect(!client.isClosed)
        await client.close()
    }

    /// Pipelined requests with different cookies, in one write: each is answered for its own
    /// cookie (the memo changes between replays of one read), a forged one in the middle too.
    @Test func pipelinedRequestsEachGetTheirOwnCookie() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let alice = try await harness.login("alice"), bob = try await harness.login("bob")
        let forged = String(bob.dropLast()) + (bob.last == "A" ? "B" : "A")
        let before = harness.upstream.requests.count
        let client = try await harness.client()
        try await client.send(
            [alice, forged, bob, alice].map { ProxyHarness.requestText("GET", "/api/me", cookie: $0) }.joined())
        var statuses: [Int] = []
        for _ in 0..<4 { statuses.append(try await client.response().status) }
        #expect(statuses == [200, 401, 200, 200])
        let users = harness.upstream.requests.dropFirst(before).map { $0.head.headers.first(name: "x-user-id") }
        #expect(users == ["alice", "bob", "alice"])
        await client.close()
    }
}

import Foundation
import NIOCore
import Synchronization
import Testing

/// Randomized response-desync test: a misbehaving app answers an attacker with generated, often
/// wrong framing (extra bytes, short bodies, bodies on bodiless statuses, garbage, partial heads,
/// late unsolicited responses), and a victim requesting its own page through the same upstream
/// pool (one event loop) must only ever get that page.
///
/// Attacks and victims alternate: after an attack that sent anything beyond one well-framed
/// response, the victim waits until the proxy has closed that upstream connection (what the
/// defence promises), so the result never depends on timing. `SESSIONGATE_DESYNC_ITERATIONS`
/// (default 150), `SESSIONGATE_DESYNC_SECONDS` (run for that long instead) and
/// `SESSIONGATE_DESYNC_SEED` set the run; `scripts/desync.sh 600` runs it for ten minutes.
@Suite struct DesyncFuzzTests {
    struct Attack: Sendable {
        var actions: [RawUpstream.Action]
        /// True when the app sent anything but one well-framed response (the proxy must close).
        var poisoned: Bool
        var head: Bool
    }

    @Test func victimOnlyEverGetsItsOwnPage() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = environment["SESSIONGATE_DESYNC_SECONDS"].flatMap(Int.init)
        let iterations = seconds == nil ? environment["SESSIONGATE_DESYNC_ITERATIONS"].flatMap(Int.init) ?? 150 : Int.max
        let stopAt = ContinuousClock.now + .seconds(seconds ?? 0)
        let seed = environment["SESSIONGATE_DESYNC_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        var random = SplitMix(seed: seed)
        let attacks = Mutex<[String: Attack]>([:])
        let app = try await RawUpstream(group: ProxyHarness.group) { request in
            if request.target.hasPrefix("/public/victim") { return [.write(HardeningTests.victimPage(request))] }
            let id = String(request.target.split(separator: "=").last ?? "")
            return attacks.withLock { $0[id]?.actions } ?? [.close]
        }
        defer { Task { await app.stop() } }
        let harness = try await ProxyHarness(proxyGroup: ProxyHarness.oneLoop) {
            $0.upstream.url = .init(host: "127.0.0.1", port: app.port)
            $0.upstream.responseTimeout = .seconds(30)
        }
        defer { Task { await harness.shutdown() } }

        var poisonedCount = 0
        var done = 0
        for iteration in 0..<iterations {
            if seconds != nil, ContinuousClock.now >= stopAt { break }
            done += 1
            let attack = Self.generate(&random)
            attacks.withLock { $0[String(iteration)] = attack }
            poisonedCount += attack.poisoned ? 1 : 0
            let attacker = try await harness.client()
            let method = attack.head ? "HEAD" : "GET"
            try await attacker.send(ProxyHarness.requestText(method, "/public/attack?id=\(iteration)"))
            _ = try? await attacker.response(timeout: .seconds(60), headRequest: attack.head)
            await attacker.close()
            if attack.poisoned {
                let connection = try #require(app.requests.withLock { $0.last(where: { $0.target.hasSuffix("id=\(iteration)") }) })
                    .connection
                #expect(
                    try await app.waitUntilClosed(connection: connection), "seed \(seed) iteration \(iteration): poisoned connection kept")
            }
            let victim = try await harness.request("GET", "/public/victim?token=\(iteration)")
            let own = victim.status == 200 && victim.text == "page-\(iteration)"
            #expect(own, "seed \(seed) iteration \(iteration): victim got \(victim.status) \(victim.text)")
            #expect(ProxyHarness.sessionCookie(from: victim) == nil, "seed \(seed): a planted session reached the victim")
            if !own { break }
        }
        print("desync: seed \(seed), \(done) attacks (\(poisonedCount) poisoned), each followed by a victim request")
    }

    static let poison = Array(HardeningTests.poison.utf8)

    /// One generated answer: a (possibly wrong) response, then maybe more.
    static func generate(_ random: inout SplitMix) -> Attack {
        let head = random.next(below: 4) == 0
        var bytes: [UInt8] = []
        var poisoned = false
        var actions: [RawUpstream.Action] = []
        let body = Array("ok-body".utf8.prefix(1 + random.next(below: 7)))
        switch random.next(below: 6) {
        case 0:
            bytes += Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + (head ? [] : body)
        case 1:
            bytes += Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            bytes += head ? [] : Array("\(String(body.count, radix: 16))\r\n".utf8) + body + Array("\r\n0\r\n\r\n".utf8)
        case 2:
            let status = ["204 No Content", "304 Not Modified"][random.next(below: 2)]
            bytes += Array("HTTP/1.1 \(status)\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
            if random.next(below: 2) == 0 {
                bytes += body  // a body on a bodiless status
                poisoned = true
            }
        case 3:
            // A short body, then the connection ends.
            bytes += Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.count + 5)\r\n\r\n".utf8) + (head ? [] : body)
            actions.append(.write(bytes))
            actions.append(.close)
            return Attack(actions: actions, poisoned: true, head: head)
        case 4:
            // Garbage instead of a response.
            bytes += (0..<(1 + random.next(below: 40))).map { _ in UInt8(truncatingIfNeeded: 32 + random.next(below: 95)) }
            actions.append(.write(bytes))
            actions.append(.close)
            return Attack(actions: actions, poisoned: true, head: head)
        default:
            bytes += Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
            if head { poisoned = true }  // a body on a HEAD answer
        }
        switch random.next(below: 5) {
        case 0:
            bytes += poison
            poisoned = true
        case 1:
            bytes += poison.prefix(1 + random.next(below: poison.count - 1))
            poisoned = true
        case 2:
            bytes += (0..<(1 + random.next(below: 8))).map { _ in UInt8(truncatingIfNeeded: random.next(below: 256)) }
            poisoned = true
        case 3:
            actions.append(.writeLater(milliseconds: Int64(random.next(below: 30)), poison))
            poisoned = true
        default:
            break
        }
        return Attack(actions: [.write(bytes)] + actions, poisoned: poisoned, head: head)
    }
}

/// A small seeded generator (SplitMix64), so a failing run can be replayed from its seed.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

import Synchronization
import Testing

@testable import SessionGateCore

/// Deterministic bytes: each call returns the next values of a running counter, so every
/// nonce it hands out differs and tests can predict it.
private final class CounterRandomBytes: RandomBytes {
    private let counter = Mutex<UInt64>(0)

    func bytes(_ count: Int) -> [UInt8] {
        counter.withLock { value in
            value += 1
            var out = [UInt8](repeating: 0, count: count)
            var word = value
            for index in (0..<count).reversed() where word != 0 {
                out[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
            }
            return out
        }
    }
}

private func key(_ fill: UInt8) -> [UInt8] {
    (0..<32).map { UInt8(truncatingIfNeeded: Int(fill) &* 31 &+ $0) }
}

private let cookieName = "__Host-session"

@Suite struct CookieSealerTests {
    let ring = try! CookieKeyRing(keys: [key(1)])
    let random = SystemRandomBytes()

    @Test func roundTrip() throws {
        for plaintext in [[], [0], Array("hello, session".utf8), (0..<2000).map { UInt8($0 % 251) }] {
            let sealed = ring.seal(plaintext, cookieName: cookieName, random: random)
            #expect(ring.open(sealed, cookieName: cookieName) == plaintext)
            #expect(sealed.utf8.count == CookieKeyRing.sealedValueLength(plaintextCount: plaintext.count))
        }
    }

    @Test func sealedValueIsCookieSafeAndHidesThePlaintext() {
        let plaintext = Array("user_id=alice".utf8)
        let sealed = ring.seal(plaintext, cookieName: cookieName, random: random)
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        #expect(sealed.utf8.allSatisfy(allowed.contains))
        #expect(!sealed.contains("alice"))
        let raw = Base64URL.decode(sealed)!
        #expect(raw[0] == CookieKeyRing.formatVersion)
        #expect(Array(raw[1..<5]) == ring.keyIDs[0])
        #expect(!raw.starts(with: plaintext) && raw.firstRange(of: plaintext) == nil)
    }

    @Test func everyTamperedByteFailsToOpen() throws {
        let sealed = ring.seal(Array("tamper me".utf8), cookieName: cookieName, random: random)
        let raw = try #require(Base64URL.decode(sealed))
        for position in raw.indices {
            for flip: UInt8 in [0x01, 0x80] {
                var tampered = raw
                tampered[position] ^= flip
                #expect(
                    ring.open(Base64URL.encode(tampered), cookieName: cookieName) == nil,
                    "byte \(position) flipped with \(flip)")
            }
        }
        // Truncation and extension are tampering too.
        #expect(ring.open(Base64URL.encode(raw.dropLast()), cookieName: cookieName) == nil)
        #expect(ring.open(Base64URL.encode(raw + [0]), cookieName: cookieName) == nil)
        #expect(ring.open(Base64URL.encode(raw.dropFirst()), cookieName: cookieName) == nil)
    }

    @Test func valueIsBoundToItsCookieName() {
        let sealed = ring.seal([1, 2, 3], cookieName: cookieName, random: random)
        #expect(ring.open(sealed, cookieName: "session") == nil)
        #expect(ring.open(sealed, cookieName: "__Host-session2") == nil)
        #expect(ring.open(sealed, cookieName: "") == nil)
        #expect(ring.open(sealed, cookieName: cookieName) == [1, 2, 3])
    }

    @Test func rotationSealsWithTheFirstKeyAndOpensWithAll() throws {
        let old = try CookieKeyRing(keys: [key(1)])
        let rotated = try CookieKeyRing(keys: [key(2), key(1)])
        let fromOld = old.seal([7, 7], cookieName: cookieName, random: random)
        #expect(rotated.open(fromOld, cookieName: cookieName) == [7, 7])

        let fromRotated = rotated.seal([8, 8], cookieName: cookieName, random: random)
        #expect(Array(Base64URL.decode(fromRotated)![1..<5]) == rotated.keyIDs[0])
        #expect(rotated.open(fromRotated, cookieName: cookieName) == [8, 8])
        // Sealed with the new key, so a ring holding only the old one cannot open it.
        #expect(old.open(fromRotated, cookieName: cookieName) == nil)
    }

    @Test func unknownKeyFailsToOpen() throws {
        let other = try CookieKeyRing(keys: [key(9)])
        let sealed = other.seal([1], cookieName: cookieName, random: random)
        #expect(ring.open(sealed, cookieName: cookieName) == nil)
    }

    @Test func aForgedKeyIDDoesNotOpen() throws {
        // A value sealed with key A but labelled with key B's id: B is tried and fails.
        let ringA = try CookieKeyRing(keys: [key(1)])
        let ringAB = try CookieKeyRing(keys: [key(1), key(2)])
        var raw = try #require(Base64URL.decode(ringA.seal([5], cookieName: cookieName, random: random)))
        raw.replaceSubrange(1..<5, with: ringAB.keyIDs[1])
        #expect(ringAB.open(Base64URL.encode(raw), cookieName: cookieName) == nil)
    }

    @Test(arguments: [
        "", "=", "!!!!", "a", "abcd", "not base64 at all", "AAAA", String(repeating: "A", count: 44),
        String(repeating: "A", count: 4097), String(repeating: "_", count: 1_000_000), "AQ==", "AQ",
        "\u{0}\u{0}\u{0}", "é", "🍪🍪🍪🍪",
    ])
    func garbageFailsToOpen(value: String) {
        #expect(ring.open(value, cookieName: cookieName) == nil)
    }

    @Test func shortAndWrongVersionValuesFailToOpen() {
        let keyID = ring.keyIDs[0]
        for length in 0..<CookieKeyRing.overheadByteCount {
            let raw = ([CookieKeyRing.formatVersion] + keyID + [UInt8](repeating: 0, count: 40)).prefix(length)
            #expect(ring.open(Base64URL.encode(raw), cookieName: cookieName) == nil)
        }
        var raw = Base64URL.decode(ring.seal([1], cookieName: cookieName, random: random))!
        raw[0] = 2
        #expect(ring.open(Base64URL.encode(raw), cookieName: cookieName) == nil)
    }

    @Test func openAcceptsSubstrings() {
        let sealed = ring.seal([4, 2], cookieName: cookieName, random: random)
        let header = "\(cookieName)=\(sealed); other=1"
        let value = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)[1]
        #expect(ring.open(value, cookieName: cookieName) == [4, 2])
    }

    @Test func noncesComeFromTheInjectedSourceAndNeverRepeat() {
        let counter = CounterRandomBytes()
        var nonces = Set<[UInt8]>()
        for round in 1...1000 {
            let sealed = ring.seal([0, 0, 0], cookieName: cookieName, random: counter)
            let nonce = Array(Base64URL.decode(sealed)![5..<17])
            #expect(nonce.suffix(2) == [UInt8(round >> 8), UInt8(round & 0xff)])
            nonces.insert(nonce)
        }
        #expect(nonces.count == 1000)
        // Same plaintext, different nonce: different ciphertext.
        let first = ring.seal([1], cookieName: cookieName, random: counter)
        let second = ring.seal([1], cookieName: cookieName, random: counter)
        #expect(first != second)
    }

    @Test func invalidKeyListsAreRejectedWithoutShowingKeys() {
        #expect(throws: CookieKeyRingError.self) { try CookieKeyRing(keys: [[UInt8]]()) }
        for length in [0, 16, 31, 33, 64] {
            let bad = [UInt8](repeating: 0x41, count: length)
            do {
                _ = try CookieKeyRing(keys: [key(1), bad])
                Issue.record("a \(length)-byte key was accepted")
            } catch {
                #expect(error.description.contains("cookie key 2"))
                #expect(error.description.contains("\(length) bytes"))
                #expect(!error.description.contains("AAAA"))
            }
        }
        #expect(throws: CookieKeyRingError.self) { try CookieKeyRing(keys: [key(1), key(2), key(1)]) }
    }

    @Test func keyIDsAreStableAndDistinct() throws {
        let first = try CookieKeyRing(keys: [key(1), key(2)])
        let second = try CookieKeyRing(keys: [key(1), key(2)])
        #expect(first.keyIDs == second.keyIDs)
        #expect(first.keyIDs[0] != first.keyIDs[1])
        #expect(first.keyIDs.allSatisfy { $0.count == 4 })
        #expect(!key(1).starts(with: first.keyIDs[0]))
    }

    @Test func browserLimitCountsTheWholeSetCookieValue() {
        let attributes = "; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=1800"
        let prefix = "\(cookieName)="
        let fitting = prefix + String(repeating: "a", count: 4096 - prefix.utf8.count - attributes.utf8.count)
        #expect(CookieKeyRing.fitsBrowserLimit(setCookieHeaderValue: fitting + attributes))
        #expect(!CookieKeyRing.fitsBrowserLimit(setCookieHeaderValue: fitting + "a" + attributes))
        #expect(CookieKeyRing.maxCookieBytes == 4096)
        // Multi-byte characters count as bytes, not characters.
        #expect(!CookieKeyRing.fitsBrowserLimit(setCookieHeaderValue: String(repeating: "é", count: 2049)))
    }

    @Test func sealedValueLengthPredictsTheBrowserLimit() {
        let attributes = "; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=1800"
        let budget = 4096 - "\(cookieName)=".utf8.count - attributes.utf8.count
        let largest = (0...4096).last { CookieKeyRing.sealedValueLength(plaintextCount: $0) <= budget }!
        for count in [largest, largest + 1] {
            let sealed = ring.seal([UInt8](repeating: 1, count: count), cookieName: cookieName, random: random)
            let header = "\(cookieName)=\(sealed)\(attributes)"
            #expect(CookieKeyRing.fitsBrowserLimit(setCookieHeaderValue: header) == (count == largest))
        }
    }
}

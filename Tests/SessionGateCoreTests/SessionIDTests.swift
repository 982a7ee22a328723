import Crypto
import Testing

@testable import SessionGateCore

/// The names a session id goes by in stores and tokens, each checked against swift-crypto's
/// one-shot SHA-256 of the same bytes.
@Suite struct SessionIDTests {
    private let id = SessionID(bytes: (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 5) })!

    @Test func storeKeyIsTheHexOfTheIdsSHA256() {
        let expected = SHA256.hash(data: id.bytes).map { String(format: "%02x", $0) }.joined()
        #expect(id.storeKey == expected)
        var appended = Array("prefix:".utf8)
        id.appendStoreKey(to: &appended)
        #expect(appended == Array("prefix:\(expected)".utf8))
    }

    @Test func handleIsADomainSeparatedHash() {
        let expected = Array(SHA256.hash(data: Array("sessiongate-sid:".utf8) + id.bytes)).prefix(16)
        #expect(id.handle == Base64URL.encode(expected))
        #expect(id.handle != Base64URL.encode(Array(SHA256.hash(data: id.bytes)).prefix(16)))
    }

    /// The memory store's key: equal for the same id, different when any byte differs.
    @Test func storeDigestTellsIdsApart() {
        #expect(id.storeDigest == SessionID(bytes: id.bytes)!.storeDigest)
        var seen: Set<StoreDigest> = [id.storeDigest]
        for position in 0..<SessionID.byteCount {
            var bytes = id.bytes
            bytes[position] ^= 0x01
            #expect(seen.insert(SessionID(bytes: bytes)!.storeDigest).inserted, "byte \(position)")
        }
    }

    /// A ticket made with its digest worked out (a connection's memo) names the same store key,
    /// digest and handle as a plain one, and equals it; a ticket that is not an id is no id.
    @Test func aTicketWithAPrecomputedDigestNamesTheSameSession() {
        let plain = SessionTicket(id.bytes)
        let precomputed = SessionTicket(precomputingDigestOf: id.bytes)
        #expect(precomputed.digest != nil && plain.digest == nil)
        #expect(precomputed.handle == id.handle && plain.handle == nil)
        #expect(precomputed == plain && precomputed.hashValue == plain.hashValue)
        let fromPlain = SessionID(ticket: plain)!, fromPrecomputed = SessionID(ticket: precomputed)!
        #expect(fromPrecomputed.storeKey == id.storeKey && fromPlain.storeKey == id.storeKey)
        #expect(fromPrecomputed.storeDigest == id.storeDigest && fromPrecomputed.handle == id.handle)
        var appended: [UInt8] = []
        fromPrecomputed.appendStoreKey(to: &appended)
        #expect(appended == Array(id.storeKey.utf8))
        #expect(fromPrecomputed == id && fromPrecomputed.hashValue == id.hashValue)
        #expect(SessionID(ticket: SessionTicket(Array(id.bytes.dropLast()))) == nil)
        let notAnID = SessionTicket(precomputingDigestOf: id.bytes + [0])
        #expect(SessionID(ticket: notAnID) == nil && notAnID.digest == nil && notAnID.handle == nil)
    }
}

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
}

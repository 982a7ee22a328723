import Crypto
import Testing

@testable import SessionGateCore

@Suite struct PrekeyedHMACTests {
    private func code(_ mac: PrekeyedHMAC, _ message: [UInt8]) -> [UInt8] {
        Array(message.withUnsafeBytes { mac.authenticationCode(for: $0) })
    }

    private func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    /// RFC 4231 §4.3 (a key shorter than the hash) and §4.7 (longer than the block: hashed first).
    @Test func rfc4231Vectors() {
        #expect(
            code(PrekeyedHMAC(key: Array("Jefe".utf8)), Array("what do ya want for nothing?".utf8))
                == hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
        #expect(
            code(
                PrekeyedHMAC(key: Array(repeating: 0xaa, count: 131)),
                Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
                == hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"))
    }

    /// The same codes as swift-crypto's `HMAC<SHA256>` around every block boundary of key and
    /// message.
    @Test func matchesSwiftCryptoAtBlockBoundaries() {
        for keyLength in [1, 32, 63, 64, 65, 128, 200] {
            let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let mac = PrekeyedHMAC(key: key)
            for messageLength in [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000] {
                let message = (0..<messageLength).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ keyLength) }
                let expected = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
                #expect(code(mac, message) == expected, "key \(keyLength) bytes, message \(messageLength) bytes")
            }
        }
    }

    /// One keyed value serves many messages: each starts from the keyed state, never from the
    /// previous message (fails if the copied hash states were shared).
    @Test func messagesDoNotLeakIntoEachOther() {
        let mac = PrekeyedHMAC(key: Array(repeating: 0x42, count: 32))
        let first = code(mac, Array("first".utf8))
        let second = code(mac, Array("second".utf8))
        #expect(first != second)
        #expect(code(mac, Array("first".utf8)) == first)
        let copy = mac
        #expect(code(copy, Array("second".utf8)) == second)
    }
}

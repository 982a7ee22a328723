import Crypto

/// HMAC-SHA256 (RFC 2104) with the key's work done once: the inner and outer hash states after
/// the padded key block, copied per message (swift-crypto's `SHA256` copies its state on the
/// first write after a copy). The same codes as `HMAC<SHA256>`; what it saves per message is the
/// generic `DataProtocol` walk of `HMAC.update(data:)`, since messages arrive as one buffer.
struct PrekeyedHMAC: Sendable {
    /// SHA-256's block size: longer keys are hashed first, shorter ones padded with zeros.
    private static let blockByteCount = 64

    private let inner: SHA256
    private let outer: SHA256

    init(key: [UInt8]) {
        var block = key.count > Self.blockByteCount ? Array(SHA256.hash(data: key)) : key
        block.append(contentsOf: repeatElement(0, count: Self.blockByteCount - block.count))
        var inner = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: block.map { $0 ^ 0x5c })
        self.inner = inner
        self.outer = outer
    }

    /// HMAC-SHA256 of `message` under the key.
    func authenticationCode(for message: UnsafeRawBufferPointer) -> SHA256Digest {
        var inner = self.inner
        inner.update(bufferPointer: message)
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize()
    }
}

import NIOCore

/// Bytes read from a connection that its decoder has not consumed yet: a head still incomplete,
/// or what follows a request after which nothing is parsed (an upgrade). The handler that owns a
/// decoder keeps them here and decodes in its own `channelRead` — what `ByteToMessageHandler`
/// did, without a handler of its own and a `NIOAny` hop for every part.
struct PendingBytes {
    private var leftover: ByteBuffer?

    var isEmpty: Bool { leftover == nil }

    /// What to decode now: the bytes left from earlier reads, followed by `bytes`.
    mutating func combined(with bytes: ByteBuffer) -> ByteBuffer {
        guard var buffer = takeAll() else { return bytes }
        var bytes = bytes
        buffer.writeBuffer(&bytes)
        return buffer
    }

    /// Adds bytes that arrived while a decode loop holds the rest (it picks them up with
    /// `takeAll` before it stops).
    mutating func append(_ bytes: ByteBuffer) {
        leftover = combined(with: bytes)
    }

    /// Keeps what the decoder left unread; when the consumed part is most of the buffer, the
    /// unread bytes move to its front (the same rule `ByteToMessageHandler` follows).
    mutating func keep(_ rest: ByteBuffer) {
        guard rest.readableBytes > 0 else {
            leftover = nil
            return
        }
        var rest = rest
        if rest.readerIndex >= 2048 || (rest.storageCapacity > 1024 && rest.storageCapacity - rest.readerIndex < rest.readerIndex) {
            rest.discardReadBytes()
        }
        leftover = rest
    }

    /// Everything kept (nil when nothing is), which leaves this empty.
    mutating func takeAll() -> ByteBuffer? {
        defer { leftover = nil }
        return leftover
    }
}

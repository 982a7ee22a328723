import NIOCore

/// Bytes read from a connection that its decoder has not consumed yet: a head still incomplete,
/// or what follows a request after which nothing is parsed (an upgrade). The handler that owns a
/// decoder reads through this and decodes in its own `channelRead` — what `ByteToMessageHandler`
/// did, without a handler of its own and a `NIOAny` hop for every part. A class: a read that
/// arrives while `read` runs (a reentrant `channelRead`) is appended here and decoded by the
/// running loop.
final class PendingBytes {
    private var leftover: ByteBuffer?
    private var decoding = false

    /// Runs `decode` on the bytes kept from earlier reads followed by `bytes`, again on any bytes
    /// that arrive meanwhile, and keeps what it leaves unread. `decode` consumes what it can
    /// (an error: everything).
    func read(_ bytes: ByteBuffer, decode: (inout ByteBuffer) -> Void) {
        guard !decoding else { return leftover = combined(with: bytes) }
        decoding = true
        defer { decoding = false }
        var buffer = combined(with: bytes)
        while true {
            decode(&buffer)
            guard let more = takeAll() else { break }
            buffer.writeImmutableBuffer(more)
        }
        keep(buffer)
    }

    /// Everything kept (nil when nothing is), which leaves this empty: for the next handler when
    /// this one leaves the pipeline.
    func takeAll() -> ByteBuffer? {
        defer { leftover = nil }
        return leftover
    }

    private func combined(with bytes: ByteBuffer) -> ByteBuffer {
        guard var buffer = takeAll() else { return bytes }
        var bytes = bytes
        buffer.writeBuffer(&bytes)
        return buffer
    }

    /// Keeps what the decoder left unread; when the consumed part is most of the buffer, the
    /// unread bytes move to its front (the same rule `ByteToMessageHandler` follows).
    private func keep(_ rest: ByteBuffer) {
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
}

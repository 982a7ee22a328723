import NIOCore

/// A buffer the connections of one event loop write their heads into, one head after another,
/// without allocating one each time (`UpstreamPool` keeps one per kind of head). The buffer
/// written last is kept; the next `take` clears and reuses its storage when nothing else holds it
/// any more (its socket write completed, as it usually has by the next head), and allocates
/// otherwise — `ByteBuffer`'s copy-on-write, so a write still queued is never touched. Storage
/// grown past `maxKeptCapacity` (a huge head) is not kept.
struct ReusedBuffer {
    static let maxKeptCapacity = 8192
    private var kept: ByteBuffer?

    /// An empty buffer with room for at least `capacity` bytes.
    mutating func take(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard var buffer = kept else { return allocator.buffer(capacity: capacity) }
        kept = nil
        buffer.clear(minimumCapacity: capacity)
        return buffer
    }

    /// Keeps `buffer` (just handed to a write) for the next `take`.
    mutating func keep(_ buffer: ByteBuffer) {
        kept = buffer.capacity <= Self.maxKeptCapacity ? buffer : nil
    }
}

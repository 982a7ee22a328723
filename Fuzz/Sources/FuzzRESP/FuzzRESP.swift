import FuzzSupport
import NIOCore
import RESPCodec

// The RESP2/RESP3 decoder, fed the whole input at once and again cut into pieces: every split
// must give the same values and the same final error (a server's bytes arrive cut anywhere).

private enum Outcome: Equatable {
    case incomplete
    case failed(RESPDecodingError)
}

/// Value equality where a NaN double equals itself (it does not under `==`).
private func same(_ left: RESPValue, _ right: RESPValue) -> Bool {
    switch (left, right) {
    case (.double(let a), .double(let b)): return a.bitPattern == b.bitPattern
    case (.array(let a), .array(let b)), (.set(let a), .set(let b)), (.push(let a), .push(let b)):
        return a.count == b.count && zip(a, b).allSatisfy(same)
    case (.map(let a), .map(let b)):
        return a.count == b.count && zip(a, b).allSatisfy { same($0.key, $1.key) && same($0.value, $1.value) }
    default:
        return left == right
    }
}

/// Decodes as the channel handler does: values while complete, then wait for more bytes.
private struct Feeder {
    var decoder: RESPDecoder
    var buffer = ByteBuffer()
    var values: [RESPValue] = []
    var outcome = Outcome.incomplete

    init(limits: RESPDecoder.Limits) { decoder = RESPDecoder(limits: limits) }

    mutating func feed(_ chunk: ArraySlice<UInt8>) {
        if case .failed = outcome { return }
        buffer.writeBytes(chunk)
        while true {
            let before = buffer.readerIndex
            do {
                guard let value = try decoder.decode(buffer: &buffer) else {
                    check(buffer.readerIndex == before, "an incomplete value consumed bytes")
                    return
                }
                check(buffer.readerIndex > before, "a value was decoded from no bytes")
                values.append(value)
            } catch let error as RESPDecodingError {
                outcome = .failed(error)
                return
            } catch {
                check(false, "the decoder threw something other than RESPDecodingError: \(error)")
            }
        }
    }
}

/// Deterministic chunk sizes from a seed (xorshift), mostly small.
private func chunkSizes(count: Int, seed: UInt64) -> [Int] {
    var state = seed | 1
    var sizes: [Int] = []
    var total = 0
    while total < count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        let size = Int(state % 9) == 0 ? Int(state >> 8 % 64) + 1 : Int(state % 4) + 1
        sizes.append(min(size, count - total))
        total += sizes.last!
    }
    return sizes
}

private let smallLimits = RESPDecoder.Limits(maxBulkLength: 64, maxAggregateCount: 8, maxDepth: 4, maxLineLength: 32)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let bytes = input.rest()
    for limits in [RESPDecoder.Limits(), smallLimits] {
        var whole = Feeder(limits: limits)
        whole.feed(bytes[...])

        var splits: [[Int]] = [chunkSizes(count: bytes.count, seed: UInt64(bytes.count) &* 0x9E37_79B9 &+ UInt64(bytes.first ?? 0))]
        if bytes.count <= 512 { splits.append(Array(repeating: 1, count: bytes.count)) }
        for sizes in splits {
            var pieces = Feeder(limits: limits)
            var start = 0
            for size in sizes {
                pieces.feed(bytes[start..<(start + size)])
                start += size
            }
            check(
                pieces.values.count == whole.values.count && zip(pieces.values, whole.values).allSatisfy(same),
                "split input decoded to \(pieces.values) instead of \(whole.values)")
            check(pieces.outcome == whole.outcome, "split input ended \(pieces.outcome) instead of \(whole.outcome)")
        }
    }
    return 0
}

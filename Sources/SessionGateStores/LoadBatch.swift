import NIOCore
import Synchronization

/// The loads one event loop started in one round (the requests it read in one go), sent to the
/// store as one query: each distinct store key once (`storeKeys`), each load's answer kept with
/// the key it waits for, and what the store took for the query when the batch opened (`context`:
/// PostgreSQL's connection lease; nothing for SQLite). Pure: the store sends it and hands back
/// the rows.
struct LoadBatch<Context, Answer> {
    let context: Context
    /// The clock of every load in the batch.
    let now: Int64
    let capacity: Int
    private(set) var storeKeys: [String] = []
    private var waiting: [(keyIndex: Int, answer: Answer)] = []

    init(context: Context, now: Int64, capacity: Int) {
        self.context = context
        self.now = now
        self.capacity = capacity
    }

    /// Whether `capacity` loads are in.
    var isFull: Bool { waiting.count >= capacity }

    mutating func add(storeKey: String, _ answer: Answer) {
        let index: Int
        if let existing = storeKeys.firstIndex(of: storeKey) {
            index = existing
        } else {
            index = storeKeys.count
            storeKeys.append(storeKey)
        }
        waiting.append((index, answer))
    }

    /// Each load with its row (nil when the query returned none for its key), in the order they
    /// were added; or the query's error for every load.
    func answers<Row>(_ result: Result<[(storeKey: String, row: Row)], any Error>)
        -> [(answer: Answer, result: Result<Row?, any Error>)]
    {
        switch result {
        case .failure(let error):
            return waiting.map { ($0.answer, .failure(error)) }
        case .success(let rows):
            // Rows in key order (a key the store did not return stays nil).
            var byKey = [Row?](repeating: nil, count: storeKeys.count)
            for (storeKey, row) in rows {
                if let index = storeKeys.firstIndex(of: storeKey) { byKey[index] = row }
            }
            return waiting.map { ($0.answer, .success(byKey[$0.keyIndex])) }
        }
    }
}

extension LoadBatch: Sendable where Context: Sendable, Answer: Sendable {}

/// The open `LoadBatch`es of each event loop: a load joins its loop's batch for its clock, or
/// opens a new one (`open` gives the batch's context, nil: the store cannot take it). When `add`
/// answers `.openedRound`, the caller schedules the send for the end of the round with `execute`
/// (which runs after the I/O the loop is handling, so every load of the round is in by then) and
/// sends what `take(on:)` gives.
final class RoundBatches<Context: Sendable, Answer: Sendable>: Sendable {
    typealias Batch = LoadBatch<Context, Answer>

    enum Added { case joined, openedRound, refused }

    let capacity: Int
    private let open = Mutex<[ObjectIdentifier: [Batch]]>([:])
    private let sent = Atomic<Int>(0)

    /// The number of batches taken to be sent so far (for tests).
    var sentCount: Int { sent.load(ordering: .relaxed) }

    init(capacity: Int) { self.capacity = capacity }

    /// Adds a load to the round of `loop` (which must be the current one).
    func add(storeKey: String, now: Int64, on loop: any EventLoop, _ answer: Answer, open context: () -> Context?)
        -> Added
    {
        let key = ObjectIdentifier(loop)
        return open.withLock { open -> Added in
            // Moved out and back, so the array is changed in place (no copy).
            var batches = open.removeValue(forKey: key) ?? []
            defer { if !batches.isEmpty { open[key] = batches } }
            if let index = batches.lastIndex(where: { $0.now == now && !$0.isFull }) {
                batches[index].add(storeKey: storeKey, answer)
                return .joined
            }
            guard let context = context() else { return .refused }
            var batch = Batch(context: context, now: now, capacity: capacity)
            batch.add(storeKey: storeKey, answer)
            batches.append(batch)
            return batches.count == 1 ? .openedRound : .joined
        }
    }

    /// The batches of the round of `loop`, to be sent now.
    func take(on loop: any EventLoop) -> [Batch] {
        let batches = open.withLock { $0.removeValue(forKey: ObjectIdentifier(loop)) ?? [] }
        sent.add(batches.count, ordering: .relaxed)
        return batches
    }

    /// Every loop's batches not sent yet (the store is closing).
    func takeAll() -> [Batch] {
        open.withLock { open in
            defer { open = [:] }
            return open.values.flatMap { $0 }
        }
    }
}

import NIOCore
import Synchronization

/// The loads one event loop started in one round (the requests it read in one go), sent to the
/// store as one query: each distinct store key once (`storeKeys`), each load's answer kept with
/// the key it waits for. Pure: the store sends it and hands back the rows.
struct LoadBatch<Answer> {
    /// The clock of every load in the batch.
    let now: Int64
    let capacity: Int
    private(set) var storeKeys: [String] = []
    private var waiting: [(keyIndex: Int, answer: Answer)] = []

    init(now: Int64, capacity: Int) {
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

extension LoadBatch: Sendable where Answer: Sendable {}

/// The open `LoadBatch`es of each event loop: a load joins its loop's batch for its clock (a new
/// one when there is none with room), and the first load of a round schedules `send` for the
/// end of the round (`execute` runs after the I/O the loop is handling, so every load of the round
/// is in by then).
final class RoundBatches<Answer: Sendable>: Sendable {
    let capacity: Int
    private let open = Mutex<[ObjectIdentifier: [LoadBatch<Answer>]]>([:])
    private let sent = Atomic<Int>(0)

    /// The number of batches handed to `send` so far (for tests).
    var sentCount: Int { sent.load(ordering: .relaxed) }

    init(capacity: Int) { self.capacity = capacity }

    /// Adds a load; `send` gets the round's batches of `loop` (which must be the current one) when
    /// the round ends.
    func add(
        storeKey: String, now: Int64, on loop: any EventLoop, _ answer: Answer,
        send: @escaping @Sendable ([LoadBatch<Answer>]) -> Void
    ) {
        let key = ObjectIdentifier(loop)
        let firstOfRound = open.withLock { open -> Bool in
            var batches = open.removeValue(forKey: key) ?? []
            defer { open[key] = batches }
            if let index = batches.lastIndex(where: { $0.now == now && !$0.isFull }) {
                batches[index].add(storeKey: storeKey, answer)
                return false
            }
            var batch = LoadBatch<Answer>(now: now, capacity: capacity)
            batch.add(storeKey: storeKey, answer)
            batches.append(batch)
            return batches.count == 1
        }
        guard firstOfRound else { return }
        loop.execute { [self] in
            let batches = open.withLock { $0.removeValue(forKey: key) ?? [] }
            guard !batches.isEmpty else { return }
            sent.add(batches.count, ordering: .relaxed)
            send(batches)
        }
    }
}

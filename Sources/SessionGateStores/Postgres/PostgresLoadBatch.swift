/// The loads one event loop started in one round on one connection, sent as one query: each
/// distinct store key once (`storeKeys`, the query's `ANY($1)`), each load's answer kept with the
/// key it waits for. Pure: the loop connections send it and hand back the rows.
struct PostgresLoadBatch<Answer> {
    let lease: PostgresLoopConnections.Lease
    /// The clock of every load in the batch (the query's `$2`).
    let now: Int64
    let capacity: Int
    private(set) var storeKeys: [String] = []
    private var waiting: [(keyIndex: Int, answer: Answer)] = []

    init(lease: PostgresLoopConnections.Lease, now: Int64, capacity: Int) {
        self.lease = lease
        self.now = now
        self.capacity = capacity
    }

    /// Whether `capacity` loads are in.
    var isFull: Bool { waiting.count >= capacity }

    var loadCount: Int { waiting.count }

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
            // Rows in key order (a key PostgreSQL did not return stays nil).
            var byKey = [Row?](repeating: nil, count: storeKeys.count)
            for (storeKey, row) in rows {
                if let index = storeKeys.firstIndex(of: storeKey) { byKey[index] = row }
            }
            return waiting.map { ($0.answer, .success(byKey[$0.keyIndex])) }
        }
    }
}

extension PostgresLoadBatch: Sendable where Answer: Sendable {}

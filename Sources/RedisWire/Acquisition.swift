/// What a lookup made under a lock decided: a value at hand, a task (already running) to wait
/// for, or a failure. Awaiting happens after the lock is released.
enum Acquisition<Value: Sendable> {
    case ready(Value)
    case wait(Task<Value, any Error>)
    case fail(RedisError)

    /// The value; a task's `RedisError` as is, any other error (cancellation) as `cancelled`.
    func value(cancelled: @autoclosure () -> RedisError) async throws(RedisError) -> Value {
        switch self {
        case .ready(let value):
            return value
        case .fail(let error):
            throw error
        case .wait(let task):
            do {
                return try await task.value
            } catch let error as RedisError {
                throw error
            } catch {
                throw cancelled()
            }
        }
    }
}

import Dispatch
import Testing

@testable import SessionGateStores

/// `abandoningOnCancel`: results and errors pass through; a cancelled caller returns at once even
/// when the operation ignores cancellation.
@Suite struct AbandoningTests {
    struct Failed: Error {}

    @Test func resultsAndErrorsPassThrough() async throws {
        #expect(try await abandoningOnCancel { 42 } == 42)
        await #expect(throws: Failed.self) { try await abandoningOnCancel { () async throws -> Int in throw Failed() } }
    }

    @Test func aCancelledCallerDoesNotWaitForAnOperationThatIgnoresIt() async throws {
        let caller = Task {
            try await abandoningOnCancel { () async -> Int in
                // Ignores cancellation, for far longer than the caller should wait (a stopped
                // pool's query); it ends by itself later.
                await withCheckedContinuation { continuation in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 20) { continuation.resume() }
                }
                return -1
            }
        }
        try await Task.sleep(for: .milliseconds(20))
        caller.cancel()
        // Waiting for the operation would return -1 (after 20 s), not throw.
        await #expect(throws: CancellationError.self) { try await caller.value }
    }

    @Test func alreadyCancelledCallersReturnAtOnce() async throws {
        let caller = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await abandoningOnCancel { () async -> Int in
                try? await Task.sleep(for: .seconds(3600))
                return 1
            }
        }
        await #expect(throws: CancellationError.self) { try await caller.value }
    }
}

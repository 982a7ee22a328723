import Synchronization

/// The current `ProxyRuntime`. A reload swaps it; each request reads it once at its start, so
/// requests in flight finish under the configuration they began with.
public final class RuntimeSource: Sendable {
    private let runtime: Mutex<ProxyRuntime>

    public init(_ runtime: ProxyRuntime) { self.runtime = Mutex(runtime) }

    public var current: ProxyRuntime { runtime.withLock { $0 } }

    public func replace(with runtime: ProxyRuntime) { self.runtime.withLock { $0 = runtime } }
}

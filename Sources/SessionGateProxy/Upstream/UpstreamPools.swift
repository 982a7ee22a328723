import NIOCore
import SessionGateCore

/// The upstream pool of each event loop. Each pool is created up front and only ever touched on
/// its own loop.
final class UpstreamPools: @unchecked Sendable {
    // @unchecked: the dictionary is immutable after init; each pool is confined to its loop.
    private let pools: [ObjectIdentifier: UpstreamPool]

    init(group: any EventLoopGroup, upstream: ProxyConfig.Upstream, events: ProxyEvents) {
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = UpstreamPool(eventLoop: loop, upstream: upstream, events: events)
        }
        self.pools = pools
    }

    func pool(for loop: any EventLoop) -> UpstreamPool {
        loop.assertInEventLoop()
        return pools[ObjectIdentifier(loop)]!
    }

    func closeAll() async {
        for pool in pools.values {
            try? await pool.eventLoop.submit { pool.close() }.get()
        }
    }
}

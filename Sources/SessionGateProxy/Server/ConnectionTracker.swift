import NIOCore
import SessionGateCore
import Synchronization

/// Keeps the open client connections so a drain can ask each to finish and then wait for them.
final class ConnectionTracker: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    var count: Int { channels.withLock { $0.count } }

    func add(_ channel: any Channel) {
        channels.withLock { $0[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = self.channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    /// Asks every connection to close once its current response is done.
    func quiesceAll() {
        for channel in channels.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

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

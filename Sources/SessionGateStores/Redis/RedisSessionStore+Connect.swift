import Logging
import NIOCore
import NIOPosix
import RedisWire
import SessionGateCore

extension RedisSessionStore {
    /// A store on `url` (`redis://[[user]:password@]host:port/db`); with `cluster`, `url` names
    /// any node of a Redis Cluster. `timeout` bounds connecting and every command. Give the data
    /// plane's `eventLoopGroup` so session loads answer on the loop that asked (no thread hop).
    public convenience init(
        url: String, cluster: Bool, policy: SessionPolicy, random: any RandomBytes, timeout: Duration = .seconds(1),
        poolSize: Int = 4, keyPrefix: String = "sg:", eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "sessiongate.store.redis")
    ) throws(StoreError) {
        var configuration: RedisConfiguration
        do {
            configuration = try RedisConfiguration(url: url)
        } catch {
            throw StoreError(.unavailable, "invalid redis url: \(error.message)")
        }
        configuration.commandTimeout = timeout
        configuration.connectTimeout = timeout
        configuration.poolSize = poolSize
        let executor: any RedisExecutor =
            cluster
            ? RedisClusterClient(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
            : RedisClient(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        self.init(executor: executor, policy: policy, random: random, keyPrefix: keyPrefix, logger: logger)
    }
}

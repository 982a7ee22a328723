import Logging
import NIOCore
import NIOPosix
import RedisWire
import SessionGateCore

extension RedisSessionStore {
    /// A store on `url` (`redis[s]://[[user]:password@]host:port/db`); with `cluster`, `url` names
    /// any node of a Redis Cluster. `rediss://` connects over TLS with `tls` (verification on
    /// unless `tls.insecureSkipVerify`). `timeout` bounds connecting and every command. Give the
    /// data plane's `eventLoopGroup` so session loads answer on the loop that asked (no thread hop).
    public convenience init(
        url: String, cluster: Bool, tls: ProxyConfig.StoreTLS = .init(), policy: SessionPolicy, random: any RandomBytes,
        timeout: Duration = .seconds(1), poolSize: Int = 4, keyPrefix: String = "sg:",
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "sessiongate.store.redis")
    ) throws(StoreError) {
        var configuration = try Self.configuration(url: url, tls: tls, logger: logger)
        configuration.commandTimeout = timeout
        configuration.connectTimeout = timeout
        configuration.poolSize = poolSize
        let executor: any RedisExecutor =
            cluster
            ? RedisClusterClient(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
            : RedisClient(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        self.init(executor: executor, policy: policy, random: random, keyPrefix: keyPrefix, logger: logger)
    }

    /// A store on the primary that Redis Sentinel names for `sentinel.masterName`, following
    /// failovers. `url` (optional, no host: `redis[s]://[:password@]/db`) gives the primary's
    /// password, database and TLS; the Sentinels are reached with the same TLS settings and
    /// `sentinel.username`/`password`.
    public convenience init(
        sentinel: ProxyConfig.Sentinel, url: String?, tls: ProxyConfig.StoreTLS = .init(), policy: SessionPolicy,
        random: any RandomBytes, timeout: Duration = .seconds(1), poolSize: Int = 4, keyPrefix: String = "sg:",
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "sessiongate.store.redis")
    ) throws(StoreError) {
        var configuration = try Self.configuration(url: url ?? "redis:///0", tls: tls, requireHost: false, logger: logger)
        configuration.commandTimeout = timeout
        configuration.connectTimeout = timeout
        configuration.poolSize = poolSize
        var sentinelConfiguration = configuration
        sentinelConfiguration.username = sentinel.username
        sentinelConfiguration.password = sentinel.password
        sentinelConfiguration.poolSize = 1
        var addresses: [RedisNodeAddress] = []
        for text in sentinel.addresses {
            guard let address = RedisNodeAddress(text) else { throw StoreError(.unavailable, "sentinel \(text) is not host:port") }
            addresses.append(address)
        }
        let executor = RedisSentinelClient(
            sentinels: addresses, masterName: sentinel.masterName, configuration: configuration,
            sentinelConfiguration: sentinelConfiguration, eventLoopGroup: eventLoopGroup, logger: logger)
        self.init(executor: executor, policy: policy, random: random, keyPrefix: keyPrefix, logger: logger)
    }

    /// The client configuration for `url`, with TLS set up (its files read) for `rediss://`.
    static func configuration(
        url: String, tls: ProxyConfig.StoreTLS, requireHost: Bool = true, logger: Logger
    ) throws(StoreError) -> RedisConfiguration {
        var configuration: RedisConfiguration
        do {
            configuration = try RedisConfiguration(url: url, requireHost: requireHost)
        } catch {
            throw StoreError(.unavailable, "invalid redis url: \(error.message)")
        }
        guard configuration.usesTLS else {
            if tls != ProxyConfig.StoreTLS() {
                throw StoreError(.unavailable, "redis TLS settings (tls_*) need a rediss:// url; refusing plain text")
            }
            return configuration
        }
        configuration.tls = try makeTLS(tls)
        if tls.insecureSkipVerify {
            logger.warning(
                "redis TLS certificate verification is OFF (tls_insecure_skip_verify = true): anyone on the path can impersonate the server"
            )
        }
        return configuration
    }

    static func makeTLS(_ tls: ProxyConfig.StoreTLS) throws(StoreError) -> RedisTLS {
        do {
            return try RedisTLS(
                caFile: tls.caFile, certificateFile: tls.certificateFile, keyFile: tls.keyFile, serverName: tls.serverName,
                verifyCertificates: !tls.insecureSkipVerify)
        } catch {
            throw StoreError(.unavailable, "redis TLS: \(error.message)")
        }
    }
}

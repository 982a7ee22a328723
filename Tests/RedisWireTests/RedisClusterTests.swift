import NIOCore
import Testing

@testable import RedisWire

@Suite struct RedisClusterTests {
    private func makeCluster() throws -> RedisClusterClient {
        let seed = try TestServers.clusterSeed()
        return RedisClusterClient(seeds: [seed], configuration: RedisConfiguration(host: seed.host, port: seed.port))
    }

    @Test func routesEveryKeyToTheMasterOwningItsSlot() async throws {
        let cluster = try makeCluster()
        defer { Task { await cluster.close() } }
        let prefix = TestServers.uniqueKey("route")
        var nodesUsed = Set<RedisNodeAddress>()
        for index in 0..<60 {
            let key = "\(prefix):\(index)"
            #expect(try await cluster.send(["SET", RESPArgument(key), RESPArgument(index), "EX", 60]) == .simpleString("OK"))
            let owner = try #require(cluster.node(forSlot: HashSlot.of(key)))
            nodesUsed.insert(owner)
            // The owner answers a plain GET itself (no MOVED): the client routed correctly.
            #expect(try await cluster.client(for: owner).send(["GET", RESPArgument(key)]).integer == Int64(index))
            #expect(
                try await cluster.client(for: owner).send(["CLUSTER", "KEYSLOT", RESPArgument(key)]).integer == Int64(HashSlot.of(key)))
        }
        #expect(nodesUsed.count == 3)
        #expect(cluster.statistics.movedRedirections == 0)
    }

    @Test func pipelineSpansNodesAndKeepsOrder() async throws {
        let cluster = try makeCluster()
        defer { Task { await cluster.close() } }
        let prefix = TestServers.uniqueKey("cpipe")
        let sets: [[RESPArgument]] = (0..<40).map { ["SET", RESPArgument("\(prefix):\($0)"), RESPArgument($0), "EX", 60] }
        let gets: [[RESPArgument]] = (0..<40).map { ["GET", RESPArgument("\(prefix):\($0)")] }
        _ = try await cluster.pipeline(sets)
        let replies = try await cluster.pipeline(gets + [["PING"]])
        #expect(try replies.prefix(40).map { try $0.get().integer } == (0..<40).map { Int64($0) })
        #expect(try replies[40].get() == .simpleString("PONG"))
    }

    @Test func hashTaggedKeysShareASlotForMultiKeyCommands() async throws {
        let cluster = try makeCluster()
        defer { Task { await cluster.close() } }
        let tag = "{\(TestServers.uniqueKey("tag"))}"
        _ = try await cluster.send(["MSET", RESPArgument("\(tag):a"), "1", RESPArgument("\(tag):b"), "2"])
        #expect(
            try await cluster.send(["MGET", RESPArgument("\(tag):a"), RESPArgument("\(tag):b")]).array?.compactMap(\.integer) == [1, 2])
        let script = RedisScript("return redis.call('GET', KEYS[1]) .. redis.call('GET', KEYS[2])")
        #expect(try await cluster.evaluate(script, keys: [RESPArgument("\(tag):a"), RESPArgument("\(tag):b")]).string == "12")
        _ = try await cluster.send(["DEL", RESPArgument("\(tag):a"), RESPArgument("\(tag):b")])
    }

    @Test func followsAskAndMovedDuringALiveSlotMigration() async throws {
        let cluster = try makeCluster()
        defer { Task { await cluster.close() } }
        let tag = "{\(TestServers.uniqueKey("migrate"))}"
        let slot = HashSlot.of(tag)
        let existing = RESPArgument("\(tag):existing")
        let fresh = RESPArgument("\(tag):fresh")
        _ = try await cluster.send(["SET", existing, "old-home", "EX", 300])
        // Another key in the slot, as other tests may have written: it must move along.
        let bystander = RESPArgument("\(tag):bystander")
        _ = try await cluster.send(["SET", bystander, "along", "EX", 300])

        try await cluster.refreshSlotMap()
        let source = try #require(cluster.node(forSlot: slot))
        let allNodes = try await masters(cluster)
        let target = try #require(allNodes.keys.first { $0 != source })
        let sourceID = try #require(allNodes[source])
        let targetID = try #require(allNodes[target])

        do {
            try await migrate(
                cluster, slot: slot, keys: (existing, fresh), from: (source, sourceID), to: (target, targetID), nodes: allNodes)
            #expect(try await cluster.send(["GET", bystander]).string == "along")
            _ = try await cluster.send(["DEL", bystander])
        } catch {
            // Leave the shared cluster usable for the other tests.
            for node in [source, target] {
                _ = try? await cluster.client(for: node).send(["CLUSTER", "SETSLOT", RESPArgument(slot), "STABLE"])
            }
            throw error
        }
    }

    private func migrate(
        _ cluster: RedisClusterClient, slot: Int, keys: (existing: RESPArgument, fresh: RESPArgument),
        from: (node: RedisNodeAddress, id: String), to: (node: RedisNodeAddress, id: String),
        nodes allNodes: [RedisNodeAddress: String]
    ) async throws {
        let (existing, fresh) = keys
        let (source, target, targetID) = (from.node, to.node, to.id)
        let sourceClient = try cluster.client(for: source)
        let targetClient = try cluster.client(for: target)
        // Keys other tests (and earlier runs) left in this slot: the counts below are relative.
        let sourceKeys = try await sourceClient.send(["CLUSTER", "COUNTKEYSINSLOT", RESPArgument(slot)]).integer ?? -1
        _ = try await targetClient.send(["CLUSTER", "SETSLOT", RESPArgument(slot), "IMPORTING", RESPArgument(from.id)])
        _ = try await sourceClient.send(["CLUSTER", "SETSLOT", RESPArgument(slot), "MIGRATING", RESPArgument(targetID)])

        // A key still on the source is served there; a new key is sent to the target via ASK.
        #expect(try await cluster.send(["GET", existing]).string == "old-home")
        #expect(cluster.statistics.askRedirections == 0)
        #expect(try await cluster.send(["SET", fresh, "new-home", "EX", 300]) == .simpleString("OK"))
        #expect(cluster.statistics.askRedirections == 1)
        #expect(try await targetClient.pipeline([["ASKING"], ["GET", fresh]])[1].get().string == "new-home")
        #expect(try await sourceClient.send(["CLUSTER", "COUNTKEYSINSLOT", RESPArgument(slot)]) == .integer(sourceKeys))
        #expect(try await targetClient.send(["CLUSTER", "COUNTKEYSINSLOT", RESPArgument(slot)]) == .integer(1))

        // Move the existing key; reads of it now get ASK from the source too.
        _ = try await sourceClient.send([
            "MIGRATE", RESPArgument(target.host), RESPArgument(target.port), "", "0", "5000", "KEYS", existing,
        ])
        #expect(try await cluster.send(["GET", existing]).string == "old-home")
        #expect(cluster.statistics.askRedirections == 2)

        // Keys other tests wrote into this slot before it was MIGRATING are still on the source,
        // and a node refuses to give away a slot it holds keys of: move them too, as a real
        // resharding (`redis-cli --cluster reshard`) does. Bounded: the slot gets no new keys on
        // the source while it is MIGRATING.
        for _ in 0..<100 {
            let left = try await sourceClient.send(["CLUSTER", "GETKEYSINSLOT", RESPArgument(slot), 100]).array ?? []
            if left.isEmpty { break }
            let names = left.compactMap(\.string).map { RESPArgument($0) }
            _ = try await sourceClient.send(
                ["MIGRATE", RESPArgument(target.host), RESPArgument(target.port), "", "0", "5000", "KEYS"] + names)
        }
        #expect(try await sourceClient.send(["CLUSTER", "COUNTKEYSINSLOT", RESPArgument(slot)]) == .integer(0))

        // Finish the migration: the source now answers MOVED and the client learns the new owner.
        for node in allNodes.keys {
            _ = try await cluster.client(for: node).send(["CLUSTER", "SETSLOT", RESPArgument(slot), "NODE", RESPArgument(targetID)])
        }
        #expect(cluster.node(forSlot: slot) == source)
        #expect(try await cluster.send(["GET", existing]).string == "old-home")
        #expect(cluster.statistics.movedRedirections >= 1)
        #expect(cluster.node(forSlot: slot) == target)
        #expect(try await cluster.send(["GET", fresh]).string == "new-home")
        _ = try await cluster.send(["DEL", existing, fresh])
    }

    @Test func unreachableSeedFallsThroughToTheNextOne() async throws {
        let seed = try TestServers.clusterSeed()
        let dead = try await PrivateRedisServer.start()
        let deadAddress = RedisNodeAddress(host: "127.0.0.1", port: dead.port)
        dead.stop()
        let cluster = RedisClusterClient(seeds: [deadAddress, seed], configuration: RedisConfiguration(host: seed.host, port: seed.port))
        defer { Task { await cluster.close() } }
        #expect(try await cluster.send(["PING"]) == .simpleString("PONG"))
        #expect(cluster.node(forSlot: 0) != nil)
        #expect(cluster.node(forSlot: 0) != deadAddress)
    }

    @Test func allSeedsDownFailsWithAClearError() async throws {
        let dead = try await PrivateRedisServer.start()
        let address = RedisNodeAddress(host: "127.0.0.1", port: dead.port)
        dead.stop()
        let cluster = RedisClusterClient(seeds: [address], configuration: RedisConfiguration(port: dead.port))
        defer { Task { await cluster.close() } }
        let started = ContinuousClock.now
        do {
            _ = try await cluster.send(["GET", "k"])
            Issue.record("a cluster with no reachable node answered")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.description.contains("slot map"))
        }
        // Only catches a hang: connecting to a closed loopback port is refused at once, but a
        // saturated machine may take seconds to get there.
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    /// Master address → node id, from `CLUSTER NODES` on the seed.
    private func masters(_ cluster: RedisClusterClient) async throws -> [RedisNodeAddress: String] {
        let text = try #require(try await cluster.send(["CLUSTER", "NODES"]).string)
        var result: [RedisNodeAddress: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 2, fields[2].contains("master") else { continue }
            let address = fields[1].split(separator: "@")[0]
            if let node = RedisNodeAddress(address) { result[node] = String(fields[0]) }
        }
        return result
    }
}

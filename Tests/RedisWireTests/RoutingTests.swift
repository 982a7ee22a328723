import Testing

@testable import RedisWire

@Suite struct RoutingTests {
    @Test func crc16MatchesTheClusterSpecVector() {
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(HashSlot.of("123456789") == 12739)
    }

    @Test func knownKeySlots() {
        // Values from `CLUSTER KEYSLOT` on Redis 7.
        #expect(HashSlot.of("foo") == 12182)
        #expect(HashSlot.of("bar") == 5061)
        #expect(HashSlot.of("") == 0)
    }

    @Test func hashTagsPickTheSlot() {
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("user1000"))
        #expect(HashSlot.of("{user1000}.followers") == HashSlot.of("{user1000}.following"))
        #expect(HashSlot.of("foo{}{bar}") == HashSlot.of("foo{}{bar}"))
        #expect(HashSlot.of("foo{}{bar}") != HashSlot.of("bar"))  // empty first tag: whole key
        #expect(HashSlot.of("foo{{bar}}zap") == HashSlot.of("{bar"))
        #expect(HashSlot.of("foo{bar}{zap}") == HashSlot.of("bar"))
        #expect(HashSlot.of("no-close{tag") == HashSlot.of(Array("no-close{tag".utf8)))
    }

    @Test func routingKeys() {
        #expect(RedisCommandRouting.routingKey(of: ["GET", "k"]) == Array("k".utf8))
        #expect(RedisCommandRouting.routingKey(of: ["PING"]) == nil)
        #expect(RedisCommandRouting.routingKey(of: ["CLUSTER", "SLOTS"]) == nil)
        #expect(RedisCommandRouting.routingKey(of: ["EVALSHA", "abc", "2", "k1", "k2", "arg"]) == Array("k1".utf8))
        #expect(RedisCommandRouting.routingKey(of: ["EVAL", "return 1", "0", "arg"]) == nil)
        #expect(RedisCommandRouting.routingKey(of: ["XREAD", "COUNT", "2", "STREAMS", "s1", "0"]) == Array("s1".utf8))
    }

    @Test func nodeAddresses() {
        #expect(RedisNodeAddress("127.0.0.1:7000") == RedisNodeAddress(host: "127.0.0.1", port: 7000))
        #expect(RedisNodeAddress("[::1]:7000") == RedisNodeAddress(host: "::1", port: 7000))
        #expect(RedisNodeAddress("nohost") == nil)
    }

    @Test func slotMapFromClusterSlotsReply() throws {
        let reply = RESPValue.array([
            .array([
                .integer(0), .integer(5460), .array([.bulkString(.init(string: "")), .integer(7000), .bulkString(.init(string: "id1"))]),
            ]),
            .array([.integer(5461), .integer(16383), .array([.bulkString(.init(string: "10.0.0.2")), .integer(7001)])]),
        ])
        let map = try ClusterSlotMap(clusterSlots: reply, queried: RedisNodeAddress(host: "10.0.0.1", port: 7000))
        #expect(map.node(forSlot: 0) == RedisNodeAddress(host: "10.0.0.1", port: 7000))
        #expect(map.node(forSlot: 5460) == RedisNodeAddress(host: "10.0.0.1", port: 7000))
        #expect(map.node(forSlot: 5461) == RedisNodeAddress(host: "10.0.0.2", port: 7001))
        #expect(map.coveredSlotCount == HashSlot.count)
        #expect(throws: RedisError.self) {
            try ClusterSlotMap(clusterSlots: .array([.array([.integer(1)])]), queried: RedisNodeAddress(host: "a", port: 1))
        }
    }

    @Test func sha1MatchesKnownVectors() {
        #expect(SHA1.hex([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            SHA1.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(SHA1.hex(Array(repeating: UInt8(ascii: "a"), count: 1000)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }
}

@Suite struct ConfigurationTests {
    @Test func parsesFullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://app%40x:p%3Ass@redis.internal:6380/3")
        #expect(configuration.host == "redis.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "app@x")
        #expect(configuration.password?.revealed == "p:ss")
        #expect(configuration.database == 3)
    }

    @Test func parsesPasswordOnlyAndDefaults() throws {
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@127.0.0.1")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password?.revealed == "secret")
        #expect(passwordOnly.port == 6379)
        #expect(passwordOnly.database == 0)
        let ipv6 = try RedisConfiguration(url: "redis://[::1]:7000/")
        #expect(ipv6.host == "::1")
        #expect(ipv6.port == 7000)
    }

    @Test(arguments: ["http://x", "rediss:/h:1", "redis://:pw@", "redis://h:99999", "redis://h/x", "redis://h/-1", "redis://:%zz@h"])
    func refusesBadURLs(url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }

    @Test func descriptionNeverShowsThePassword() throws {
        let configuration = try RedisConfiguration(url: "redis://user:hunter2-secret@h:1/0")
        #expect(!configuration.description.contains("hunter2"))
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [dumped, String(reflecting: configuration), "\(configuration)"] {
            #expect(!text.contains("hunter2"))
            #expect(text.contains("h"))
        }
        #expect(dumped.contains("<redacted>") && dumped.contains("user"))
        #expect(configuration.password?.revealed == "hunter2-secret")
        do {
            _ = try RedisConfiguration(url: "redis://user:hunter2-secret@h:1/x")
        } catch {
            #expect(!error.description.contains("hunter2"))
        }
    }
}

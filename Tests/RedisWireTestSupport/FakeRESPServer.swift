import NIOCore
import NIOPosix
import RedisWire
import Synchronization

/// A Redis-speaking server on 127.0.0.1 (port 0) that answers the connection handshake as Redis
/// does and every other command with whatever reply a test sets: the fault injection no real
/// Redis can produce (a Redis-compatible server or proxy with other semantics, a version
/// mismatch), for checking that clients refuse replies of the wrong shape.
///
/// Handshake answers (each can be overridden with `answer(_:with:)`): `HELLO` a RESP3 map with
/// `proto 3` (or, with `resp3: false`, `-ERR unknown command` so the client stays on RESP2),
/// `AUTH`/`SELECT`/`CLIENT` `+OK`, `PING` `+PONG`. Every other command gets `fallback`.
public final class FakeRESPServer: Sendable {
    public let port: Int
    private let channel: any Channel
    private let state: Shared

    final class Shared: Sendable {
        struct Replies {
            var fallback: RESPValue
            var answers: [String: RESPValue]
            var received: [String] = []
        }

        let replies: Mutex<Replies>

        init(_ replies: Replies) { self.replies = Mutex(replies) }

        /// The reply to `command` (an upper-case name), recording it.
        func reply(to command: String) -> RESPValue {
            replies.withLock { replies in
                replies.received.append(command)
                return replies.answers[command] ?? replies.fallback
            }
        }
    }

    /// - Parameters:
    ///   - fallback: the reply to every command without an answer of its own.
    ///   - resp3: whether `HELLO 3` succeeds (replies then use RESP3 encodings, e.g. `_` for null).
    public static func start(
        fallback: RESPValue, resp3: Bool = true, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> FakeRESPServer {
        func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }
        var answers: [String: RESPValue] = [
            "AUTH": .simpleString("OK"), "SELECT": .simpleString("OK"), "CLIENT": .simpleString("OK"),
            "PING": .simpleString("PONG"),
        ]
        answers["HELLO"] =
            resp3
            ? .map([
                RESPMapEntry(key: bulk("server"), value: bulk("fake")),
                RESPMapEntry(key: bulk("version"), value: bulk("7.0.0")),
                RESPMapEntry(key: bulk("proto"), value: .integer(3)),
                RESPMapEntry(key: bulk("mode"), value: bulk("standalone")),
            ])
            : .error("ERR unknown command 'HELLO', with args beginning with: '3'")
        let state = Shared(.init(fallback: fallback, answers: answers))
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
                    try channel.pipeline.syncOperations.addHandler(CommandHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw ChannelError.inappropriateOperationForState }
        return FakeRESPServer(port: port, channel: channel, state: state)
    }

    private init(port: Int, channel: any Channel, state: Shared) {
        self.port = port
        self.channel = channel
        self.state = state
    }

    public var url: String { "redis://127.0.0.1:\(port)/0" }

    /// The reply to every command without an answer of its own.
    public func answerEverythingElse(with reply: RESPValue) {
        state.replies.withLock { $0.fallback = reply }
    }

    /// Answers `command` (case-insensitive name) with `reply`; nil restores the fallback.
    public func answer(_ command: String, with reply: RESPValue?) {
        state.replies.withLock { $0.answers[command.uppercased()] = reply }
    }

    /// The names of the commands received so far, upper-case, in order.
    public var received: [String] { state.replies.withLock { $0.received } }

    /// Answers `CLUSTER` (`CLUSTER SLOTS`) with one master, this server, owning every slot.
    public func actAsSingleNodeCluster() {
        answer(
            "CLUSTER",
            with: .array([
                .array([.integer(0), .integer(16383), .array([.bulkString(ByteBuffer(string: "127.0.0.1")), .integer(Int64(port))])])
            ]))
    }

    public func stop() async {
        try? await channel.close()
    }
}

/// Answers each decoded command. RESP3 encodings once `HELLO 3` has succeeded on the connection.
private final class CommandHandler: ChannelInboundHandler {
    typealias InboundIn = RESPValue
    typealias OutboundOut = ByteBuffer

    private let state: FakeRESPServer.Shared
    private var resp3 = false

    init(state: FakeRESPServer.Shared) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let command = unwrapInboundIn(data)
        let name = command.array?.first?.string?.uppercased() ?? ""
        let reply = state.reply(to: name)
        // Redis answers a successful `HELLO 3` in RESP3 already.
        if name == "HELLO", reply.errorMessage == nil, command.array?.dropFirst().first?.string == "3" { resp3 = true }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        RESPEncoding.write(reply, resp3: resp3, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Server-side RESP encoding of a reply (RESP3 types degrade to their RESP2 spellings when the
/// connection is on RESP2, as Redis does).
public enum RESPEncoding {
    public static func write(_ value: RESPValue, resp3: Bool, into buffer: inout ByteBuffer) {
        switch value {
        case .simpleString(let text): buffer.writeString("+\(text)\r\n")
        case .error(let text): buffer.writeString("-\(text)\r\n")
        case .integer(let number): buffer.writeString(":\(number)\r\n")
        case .bulkString(var bytes):
            buffer.writeString("$\(bytes.readableBytes)\r\n")
            buffer.writeBuffer(&bytes)
            buffer.writeString("\r\n")
        case .array(let elements): writeAggregate("*", elements, resp3: resp3, into: &buffer)
        case .null: buffer.writeString(resp3 ? "_\r\n" : "$-1\r\n")
        case .double(let number): buffer.writeString(resp3 ? ",\(number)\r\n" : "$\(String(number).utf8.count)\r\n\(number)\r\n")
        case .boolean(let flag): buffer.writeString(resp3 ? "#\(flag ? "t" : "f")\r\n" : ":\(flag ? 1 : 0)\r\n")
        case .bigNumber(let text): buffer.writeString(resp3 ? "(\(text)\r\n" : "$\(text.utf8.count)\r\n\(text)\r\n")
        case .verbatimString(let format, var text):
            if resp3 {
                buffer.writeString("=\(text.readableBytes + 4)\r\n\(format):")
            } else {
                buffer.writeString("$\(text.readableBytes)\r\n")
            }
            buffer.writeBuffer(&text)
            buffer.writeString("\r\n")
        case .map(let entries):
            if resp3 {
                buffer.writeString("%\(entries.count)\r\n")
                for entry in entries {
                    write(entry.key, resp3: resp3, into: &buffer)
                    write(entry.value, resp3: resp3, into: &buffer)
                }
            } else {
                writeAggregate("*", entries.flatMap { [$0.key, $0.value] }, resp3: resp3, into: &buffer)
            }
        case .set(let elements): writeAggregate(resp3 ? "~" : "*", elements, resp3: resp3, into: &buffer)
        case .push(let elements): writeAggregate(resp3 ? ">" : "*", elements, resp3: resp3, into: &buffer)
        }
    }

    private static func writeAggregate(_ marker: String, _ elements: [RESPValue], resp3: Bool, into buffer: inout ByteBuffer) {
        buffer.writeString("\(marker)\(elements.count)\r\n")
        for element in elements { write(element, resp3: resp3, into: &buffer) }
    }
}

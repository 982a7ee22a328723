import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A test client that speaks raw bytes over a real socket, so tests can send exactly what an
/// attacker would (smuggling, bad framing) and read exactly what came back.
final class RawClient: Sendable {
    let channel: any Channel
    let collector: Collector

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = Mutex<[UInt8]>([])
        let closed = Mutex(false)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLock { $0 += buffer.readableBytesView }
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed.withLock { $0 = true }
        }
    }

    /// With `autoRead: false` nothing is read until `startReading()`: a client that does not
    /// read what the server sends.
    /// With `tls`, the bytes go through TLS (server name `localhost`).
    static func connect(
        port: Int, group: any EventLoopGroup, autoRead: Bool = true, tls: NIOSSLContext? = nil
    ) async throws -> RawClient {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(ChannelOptions.autoRead, value: autoRead)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: autoRead ? 0 : 16384)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: "localhost"))
                    }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RawClient(channel: channel, collector: collector)
    }

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(string: text))
    }

    func send(bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    }

    func startReading() async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: true)
        channel.read()
    }

    var receivedByteCount: Int { collector.received.withLock { $0.count } }

    var isClosed: Bool { collector.closed.withLock { $0 } }

    /// Waits for one complete response (removing its bytes), or fails after `timeout`.
    func response(timeout: Duration = .seconds(30), headRequest: Bool = false) async throws -> RawResponse {
        let deadline = ContinuousClock.now + timeout
        while true {
            // Read "closed" before parsing: a close that lands after the parse is seen next round.
            let closed = isClosed
            let parsed: RawResponse? = collector.received.withLock { bytes in
                guard let (response, used) = RawResponse.parse(bytes, closed: closed, headRequest: headRequest) else { return nil }
                bytes.removeFirst(used)
                return response
            }
            if let parsed { return parsed }
            // Closed with nothing or only part of a response left: no complete response will come.
            if closed { throw RawClientError.closedWithoutResponse }
            guard ContinuousClock.now < deadline else { throw RawClientError.timeout }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until the server closes the connection (true) or `timeout` passes (false).
    func waitForClose(timeout: Duration = .seconds(30)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !isClosed {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    func close() async { try? await channel.close() }
}

enum RawClientError: Error { case timeout, closedWithoutResponse }

/// One parsed HTTP/1.x response.
struct RawResponse: Sendable {
    var status: Int
    /// The status line's reason phrase.
    var reason = ""
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    func headers(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// Parses a complete response from the front of `bytes`; nil if more bytes are needed.
    static func parse(_ bytes: [UInt8], closed: Bool, headRequest: Bool = false) -> (RawResponse, Int)? {
        guard let headEnd = find(bytes, [13, 10, 13, 10], from: 0) else { return nil }
        let headText = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " ")))
        }
        var response = RawResponse(status: status, headers: headers, body: [])
        response.reason = statusLine.dropFirst(2).joined(separator: " ")
        let bodyStart = headEnd + 4
        if (100..<200).contains(status) && status != 101 || status == 204 || status == 304 || headRequest {
            return (response, bodyStart)
        }
        if let length = response.header("content-length").flatMap(Int.init) {
            guard bytes.count >= bodyStart + length else { return nil }
            response.body = Array(bytes[bodyStart..<bodyStart + length])
            return (response, bodyStart + length)
        }
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            var index = bodyStart
            var body: [UInt8] = []
            while true {
                guard let lineEnd = find(bytes, [13, 10], from: index) else { return nil }
                let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: " "), radix: 16) else { return nil }
                index = lineEnd + 2
                if size == 0 {
                    guard let end = find(bytes, [13, 10], from: index) else { return nil }
                    response.body = body
                    return (response, end + 2)
                }
                guard bytes.count >= index + size + 2 else { return nil }
                body += bytes[index..<index + size]
                index += size + 2
            }
        }
        if status == 101 { return (response, bodyStart) }
        guard closed else { return nil }
        response.body = Array(bytes[bodyStart...])
        return (response, bytes.count)
    }

    static func find(_ bytes: [UInt8], _ needle: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], Array(bytes[index..<index + needle.count]) == needle { return index }
            index += 1
        }
        return nil
    }
}

extension String {
    func components(separatedBy separator: String) -> [String] {
        var out: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            out.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        out.append(String(rest))
        return out
    }

    func trimmingCharacters(in char: Character) -> String {
        var text = Substring(self)
        while text.first == char || text.first == "\t" { text.removeFirst() }
        while text.last == char || text.last == "\t" { text.removeLast() }
        return String(text)
    }
}

extension Substring {
    func trimmingCharacters(in char: Character) -> String { String(self).trimmingCharacters(in: char) }
}

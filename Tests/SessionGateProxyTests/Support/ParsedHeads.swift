import NIOCore
import NIOHTTP1
import SessionGateCore

@testable import SessionGateProxy

/// Heads for tests, read by the proxy's own parsers from the text they would arrive as.
extension RequestHead {
    static func parsing(_ method: HTTPMethod, _ target: String, headers: [(String, String)]) -> RequestHead {
        var text = "\(method.rawValue) \(target) HTTP/1.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        let parser = RequestHeadParser(limits: .init(maxHeadBytes: 65536, maxTargetBytes: 8192, maxHeaderCount: 1000))
        guard case .complete(let layout) = parser.parse(Array(text.utf8)) else { fatalError("not a request head: \(text)") }
        return RequestHead(
            bytes: ByteBuffer(string: text), layout: layout, method: method, isKeepAlive: true,
            announcesBody: headers.contains { ["content-length", "transfer-encoding"].contains($0.0.lowercased()) })
    }
}

extension ResponseHead {
    static func parsing(_ status: HTTPResponseStatus, headers: [(String, String)]) -> ResponseHead {
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        let parser = ResponseHeadParser(maxHeadBytes: 65536, maxHeaderCount: 1000)
        guard case .complete(let layout) = parser.parse(Array(text.utf8)) else { fatalError("not a response head: \(text)") }
        return ResponseHead(bytes: ByteBuffer(string: text), layout: layout)
    }
}

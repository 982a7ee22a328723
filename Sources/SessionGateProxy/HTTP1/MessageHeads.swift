import NIOCore
import NIOHTTP1
import SessionGateCore

/// A client's request head as it arrived (`HTTP1RequestDecoder`): its bytes and positions, with
/// the few facts every request needs decided once by the decoder.
struct RequestHead {
    let headers: HeadFields
    let method: HTTPMethod
    let version: HTTPVersion
    /// Where the request target is in the head's bytes.
    let targetRange: Range<Int>
    /// The connection stays open after this request (HTTP/1.1 without `Connection: close`,
    /// HTTP/1.0 with `keep-alive`).
    let isKeepAlive: Bool
    /// The request has a body (chunked, or a `Content-Length` other than 0).
    let announcesBody: Bool

    init(bytes: ByteBuffer, layout: RequestHeadLayout, method: HTTPMethod, isKeepAlive: Bool, announcesBody: Bool) {
        headers = HeadFields(bytes: bytes, ranges: layout.fields)
        self.method = method
        version = HTTPVersion(major: 1, minor: layout.minorVersion)
        targetRange = layout.target
        self.isKeepAlive = isKeepAlive
        self.announcesBody = announcesBody
    }

    /// The request target as sent.
    var uri: String { headers.text(targetRange) }

    /// The method named by `bytes` (NIO's enum: the known ones without building a `String`).
    static func method(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod {
        func `is`(_ name: StaticString) -> Bool {
            bytes.count == name.utf8CodeUnitCount && name.withUTF8Buffer { bytes.elementsEqual($0) }
        }
        switch bytes.count {
        case 3 where `is`("GET"): return .GET
        case 3 where `is`("PUT"): return .PUT
        case 4 where `is`("POST"): return .POST
        case 4 where `is`("HEAD"): return .HEAD
        case 5 where `is`("PATCH"): return .PATCH
        case 6 where `is`("DELETE"): return .DELETE
        case 7 where `is`("OPTIONS"): return .OPTIONS
        default: return HTTPMethod(rawValue: String(decoding: bytes, as: UTF8.self))
        }
    }
}

/// An upstream's response head as it arrived (`HTTP1ResponseDecoder`).
struct ResponseHead {
    let headers: HeadFields
    let status: HTTPResponseStatus
    let version: HTTPVersion

    init(bytes: ByteBuffer, layout: ResponseHeadLayout) {
        headers = HeadFields(bytes: bytes, ranges: layout.fields)
        version = HTTPVersion(major: 1, minor: layout.minorVersion)
        let status = HTTPResponseStatus(statusCode: layout.status)
        if case .custom = status {
            // A code NIO has no name for keeps the upstream's reason phrase.
            self.status = HTTPResponseStatus(statusCode: layout.status, reasonPhrase: headers.text(layout.reason))
        } else {
            self.status = status
        }
    }
}

/// What `HTTP1RequestDecoder` hands the client handler, in order, per request.
enum RequestPart {
    case head(RequestHead)
    case body(ByteBuffer)
    /// Trailers are read and dropped by the decoder.
    case end
}

/// What `HTTP1ResponseDecoder` hands the upstream handler, in order, per response.
enum ResponsePart {
    case head(ResponseHead)
    case body(ByteBuffer)
    case end
}

import NIOCore
import NIOHTTP1
import SessionGateCore
import Testing

@testable import SessionGateProxy

/// Heads read in place: lookups ignore ASCII case and nothing else, values come without their
/// surrounding whitespace, methods map to NIO's cases without a `String` for the known ones.
@Suite struct HeadFieldsTests {
    private let head = RequestHead.parsing(
        .POST, "/a?b=c",
        headers: [
            ("Host", "app.test"), ("cookie", "a=1"), ("COOKIE", "b=2"), ("Expect", "100-Continue"), ("X-Empty", ""),
            ("Content-Length", "0"),
        ])

    @Test func lookupsIgnoreCaseAndKeepOrder() {
        #expect(head.headers.values("cookie") == ["a=1", "b=2"])
        #expect(head.headers.first("host") == "app.test")
        #expect(head.headers.first("x-empty") == "")
        #expect(head.headers.first("missing") == nil)
        #expect(head.headers.count("cookie") == 2)
        #expect(head.headers.contains("content-length") && !head.headers.contains("content-lengt"))
        #expect(head.headers.first("expect", is: "100-continue"))
        #expect(!head.headers.first("host", is: "app.tes"))
        #expect(head.uri == "/a?b=c")
        #expect(head.headers.pairs.map(\.name) == ["Host", "cookie", "COOKIE", "Expect", "X-Empty", "Content-Length"])
    }

    @Test(arguments: ["GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "M-SEARCH", "get"])
    func methodsMapLikeNIO(name: String) {
        let method = Array(name.utf8).withUnsafeBytes { RequestHead.method($0) }
        #expect(method == HTTPMethod(rawValue: name))
    }

    @Test func aStatusWithoutAStandardNameKeepsTheUpstreamsReason() {
        #expect(ResponseHead.parsing(.custom(code: 299, reasonPhrase: "Odd Thing"), headers: []).status.reasonPhrase == "Odd Thing")
        #expect(ResponseHead.parsing(.custom(code: 200, reasonPhrase: "Fine"), headers: []).status == .ok)
    }
}

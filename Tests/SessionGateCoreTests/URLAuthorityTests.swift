import SessionGateCore
import Testing

/// The store URLs' shared authority parser (SessionGateShared, re-exported by SessionGateCore).
@Suite struct URLAuthorityTests {
    @Test(arguments: [
        ("host", "host", nil as Int?), ("host:6380", "host", 6380), ("10.0.0.1:1", "10.0.0.1", 1),
        ("[::1]", "::1", nil), ("[::1]:7000", "::1", 7000), ("[fe80::1%25eth0]:5", "fe80::1%25eth0", 5),
        ("[::1]junk", "::1", nil), ("", "", nil), (":5432", "", 5432),
    ])
    func hostAndPort(text: String, host: String, port: Int?) throws {
        let parsed = try URLAuthority.hostAndPort(Substring(text))
        #expect(parsed.host == host && parsed.port == port, "\(text)")
    }

    @Test(arguments: [
        ("[::1", URLAuthority.Problem.unterminatedIPv6), ("h:0", .invalidPort), ("h:65536", .invalidPort),
        ("h:x", .invalidPort), ("h:", .invalidPort), ("[::1]:", .invalidPort),
    ])
    func hostAndPortProblems(text: String, problem: URLAuthority.Problem) {
        #expect(throws: problem) { try URLAuthority.hostAndPort(Substring(text)) }
    }

    @Test func userInfoSplitsAtTheFirstColonAndDecodes() throws {
        #expect(try URLAuthority.userInfo("app%40x:p%3Ass") == ("app@x", "p:ss"))
        #expect(try URLAuthority.userInfo(":secret") == ("", "secret"))
        #expect(try URLAuthority.userInfo("user") == ("user", nil))
        #expect(try URLAuthority.userInfo("u:a:b") == ("u", "a:b"))
        #expect(try URLAuthority.percentDecoded("%C3%A9%20x") == "é x")
        for bad in ["%", "%4", "%zz", "a%g0"] {
            #expect(throws: URLAuthority.Problem.invalidPercentEncoding) { try URLAuthority.percentDecoded(Substring(bad)) }
        }
    }

    @Test func problemsBecomeTheCallersErrorWithoutTheURL() {
        struct Failure: Error { let message: String }
        #expect(throws: Failure.self) {
            try URLAuthority.parsing({ () throws(URLAuthority.Problem) in try URLAuthority.port("99999") }) {
                Failure(message: "x url \($0)")
            }
        }
        #expect(URLAuthority.Problem.invalidPort.description == "has an invalid port (1-65535)")
        #expect(ASCIIHex.value(UInt8(ascii: "b")) == 11 && ASCIIHex.value(UInt8(ascii: "F")) == 15)
        #expect(ASCIIHex.value(UInt8(ascii: "g")) == nil && ASCIIHex.value(UInt8(ascii: "9")) == 9)
    }
}

import Testing

@testable import SessionGateCore

/// Where an upstream response ends (RFC 9112 §6.3), so nothing beyond it is ever taken for the
/// next client's response.
@Suite struct ResponseFramerTests {
    private func feed(_ text: String, head: Bool = false, inPieces: Bool = false) -> (ResponseFramer, [ResponseFramer.Verdict]) {
        var framer = ResponseFramer()
        framer.expectResponse(toHEAD: head)
        let bytes = Array(text.utf8)
        guard inPieces else {
            let verdict = framer.consume(bytes)
            return (framer, [verdict])
        }
        var verdicts: [ResponseFramer.Verdict] = []
        for byte in bytes { verdicts.append(framer.consume([byte])) }
        return (framer, verdicts)
    }

    @Test(arguments: [false, true])
    func wellFramedResponsesEndExactlyAndAllowReuse(inPieces: Bool) {
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\ncontent-length:0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\na;ext=1\r\n0123456789\r\n0\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
        ] {
            let (framer, verdicts) = feed(text, inPieces: inPieces)
            #expect(verdicts.allSatisfy { $0 == .ok }, "\(text.debugDescription)")
            #expect(framer.isIdle && framer.isReusable, "\(text.debugDescription)")
        }
        let (head, verdicts) = feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true, inPieces: inPieces)
        #expect(verdicts.allSatisfy { $0 == .ok } && head.isIdle && head.isReusable)
    }

    @Test func bytesBeyondTheResponseAreExcess() {
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let cases: [(String, Bool)] = [
            (response + "HTTP/1.1 200 OK\r\n", false),
            (response + "x", false),
            ("HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nok", false),
            ("HTTP/1.1 304 Not Modified\r\n\r\nx", false),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true),  // a body on a HEAD answer
        ]
        for (text, head) in cases {
            let (framer, verdicts) = feed(text, head: head)
            guard case .excess(let offset) = verdicts[0] else {
                Issue.record("no excess found in \(text.debugDescription)")
                continue
            }
            #expect(offset < text.utf8.count)
            #expect(!framer.isReusable)
        }
    }

    @Test func anyByteWhileIdleIsExcess() {
        var framer = ResponseFramer()
        #expect(framer.consume(Array("HTTP/1.1 200 OK\r\n".utf8)) == .excess(at: 0))
        #expect(!framer.isReusable)
        var after = ResponseFramer()
        after.expectResponse(toHEAD: false)
        #expect(after.consume(Array("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx".utf8)) == .ok)
        #expect(after.isIdle && after.isReusable)
        #expect(after.consume([0x48]) == .excess(at: 0), "a late unsolicited byte")
    }

    @Test func unfollowableFramingIsMalformedOrForbidsReuse() {
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
            "garbage\r\n\r\n", "HTTP/1.1 200 OK\r\n folded\r\n\r\n", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n",
        ] {
            let (framer, verdicts) = feed(text)
            #expect(verdicts.contains(.malformed), "\(text.debugDescription)")
            #expect(!framer.isReusable)
        }
        for text in [
            "HTTP/1.1 200 OK\r\n\r\nclose-delimited", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
        ] {
            let (framer, _) = feed(text)
            #expect(!framer.isReusable, "\(text.debugDescription) allowed reuse")
        }
    }

    @Test func switchingProtocolsEndsHTTP() {
        let (framer, verdicts) = feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u{81}\u{05}hello")
        #expect(verdicts == [.ok])
        #expect(!framer.isReusable)
    }
}

@Suite struct UpgradePolicyTests {
    @Test func onlyAllowListedTokensAreUpgrades() {
        let allowed = ["websocket"]
        #expect(UpgradePolicy.requestedToken(upgradeValues: ["websocket"], connectionValues: ["Upgrade"], allowed: allowed) == "websocket")
        #expect(
            UpgradePolicy.requestedToken(upgradeValues: ["h2c, WebSocket"], connectionValues: ["keep-alive, upgrade"], allowed: allowed)
                == "websocket")
        #expect(
            UpgradePolicy.requestedToken(upgradeValues: ["h2c"], connectionValues: ["Upgrade, HTTP2-Settings"], allowed: allowed) == nil)
        #expect(UpgradePolicy.requestedToken(upgradeValues: ["foo"], connectionValues: ["Upgrade"], allowed: allowed) == nil)
        #expect(UpgradePolicy.requestedToken(upgradeValues: ["websocket"], connectionValues: [], allowed: allowed) == nil)
    }

    @Test func switchNeedsTheAskedTokenAndTheRightAcceptKey() {
        // RFC 6455 §1.3's example.
        #expect(UpgradePolicy.webSocketAccept(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        let key = "dGhlIHNhbXBsZSBub25jZQ=="
        #expect(
            UpgradePolicy.acceptsSwitch(
                token: "websocket", responseUpgrade: ["WebSocket"], responseAccept: ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="], requestKey: key))
        #expect(
            !UpgradePolicy.acceptsSwitch(token: "websocket", responseUpgrade: ["websocket"], responseAccept: ["wrong"], requestKey: key))
        #expect(
            !UpgradePolicy.acceptsSwitch(
                token: "websocket", responseUpgrade: ["h2c"], responseAccept: ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="], requestKey: key))
        #expect(!UpgradePolicy.acceptsSwitch(token: "websocket", responseUpgrade: [], responseAccept: [], requestKey: key))
    }
}

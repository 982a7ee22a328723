import Testing

@testable import SessionGateCore

/// Every transition of `ClientConnectionStateMachine`, by the event that causes it (listed in
/// `docs/design/data-plane.md`). Pure: no channel, no clock.
@Suite struct ClientConnectionStateMachineTests {
    typealias Machine = ClientConnectionStateMachine
    typealias Request = ClientConnectionStateMachine.Request

    static let get = Request(keepAlive: true, announcesBody: false, expectsContinue: false)
    static let post = Request(keepAlive: true, announcesBody: true, expectsContinue: false)

    /// A machine with a request routed (head in, nothing decided).
    private func routed(_ request: Request = get, ended: Bool = true) -> Machine {
        var machine = Machine()
        machine.bytesReceived()
        #expect(machine.requestHead(request) == .route)
        if ended { _ = machine.requestEnd() }
        return machine
    }

    /// A machine forwarding a request to the upstream.
    private func forwarding(_ request: Request = get, ended: Bool = true) -> Machine {
        var machine = routed(request, ended: ended)
        machine.upstreamRequested()
        _ = machine.upstreamConnected()
        return machine
    }

    private func streaming(_ request: Request = get, ended: Bool = true) -> Machine {
        var machine = forwarding(request, ended: ended)
        #expect(machine.responseHead() == .inspectResponseHead)
        machine.responseHeadSent(closeAfter: false)
        return machine
    }

    // MARK: waiting and reading a head

    @Test func idleWaitsWithTheIdleTimerAndReadsOn() {
        let machine = Machine()
        #expect(machine.state == .idle)
        #expect(machine.timers.connection == .idle)
        #expect(!machine.clientReadsPaused)
    }

    @Test func firstByteStartsTheHeaderTimer() {
        var machine = Machine()
        machine.bytesReceived()
        #expect(machine.state == .readingHead)
        #expect(machine.timers.connection == .header)
        machine.bytesReceived()
        #expect(machine.state == .readingHead, "later bytes do not restart the head")
    }

    @Test func idleTimeoutClosesOnlyAnIdleConnection() {
        var idle = Machine()
        #expect(idle.idleTimedOut() == .close)
        #expect(idle.state == .closing)
        var busy = routed()
        #expect(busy.idleTimedOut() == .none)
    }

    @Test func headerTimeoutAnswers408OnlyWhileAHeadArrives() {
        var reading = Machine()
        reading.bytesReceived()
        #expect(reading.headerTimedOut() == .writeHeadTimeoutAndClose)
        #expect(reading.state == .closing)
        var idle = Machine()
        #expect(idle.headerTimedOut() == .none)
    }

    @Test func headRoutesAndStopsTheConnectionTimer() {
        var machine = Machine()
        machine.bytesReceived()
        #expect(machine.requestHead(Self.post) == .route)
        #expect(machine.state == .routing(Self.post))
        #expect(machine.timers.connection == nil)
        #expect(machine.clientReadsPaused, "a body must wait until the upstream is there")
        #expect(machine.timers.body == nil, "a paused body is not the client's fault")
    }

    @Test func malformedRequestBeforeAnythingWentUpstreamIsRejected() {
        for var machine in [Machine(), routed(Self.post, ended: false)] {
            #expect(machine.requestMalformed() == .rejectAndClose)
            #expect(machine.state == .closing)
        }
        var forwarding = forwarding(Self.post, ended: false)
        #expect(forwarding.requestMalformed() == .close)
        #expect(forwarding.requestMalformed() == .none)
    }

    // MARK: request parts

    @Test func requestPartsAreBufferedUntilTheUpstreamIsThere() {
        var machine = routed(Self.post, ended: false)
        #expect(machine.requestBody() == .bufferRequestPart)
        machine.sessionLoadStarted(bounded: false)
        #expect(machine.requestBody() == .bufferRequestPart)
        _ = machine.sessionLoadFinished()
        machine.upstreamRequested()
        #expect(machine.requestEnd() == .bufferRequestPart)
        #expect(!machine.clientReadsPaused, "the whole request is in: read on (a pipelined head may come)")
    }

    @Test func requestPartsStreamWhileForwardingAndTheEndFlushes() {
        var machine = forwarding(Self.post, ended: false)
        #expect(machine.requestBody() == .forwardRequestPart(flush: false))
        #expect(machine.timers.exchange == nil, "response_timeout starts when the request is complete")
        #expect(machine.requestEnd() == .forwardRequestPart(flush: true))
        #expect(machine.timers.exchange == .response)
    }

    @Test func bodyPartsRestartTheBodyTimer() {
        var machine = forwarding(Self.post, ended: false)
        let first = machine.timers.body
        #expect(first != nil)
        _ = machine.requestBody()
        #expect(machine.timers.body != first, "progress restarts body_timeout")
        _ = machine.requestEnd()
        #expect(machine.timers.body == nil)
    }

    @Test func upstreamBackpressurePausesClientReadsAndTheBodyTimer() {
        var machine = forwarding(Self.post, ended: false)
        machine.upstreamWritabilityChanged(false)
        #expect(machine.clientReadsPaused)
        #expect(machine.timers.body == nil)
        machine.upstreamWritabilityChanged(true)
        #expect(!machine.clientReadsPaused)
        #expect(machine.timers.body != nil, "resumed reads restart the body clock")
    }

    @Test func bodyLimitAnswers413BeforeTheResponseAndClosesAfter() {
        var early = forwarding(Self.post, ended: false)
        #expect(early.bodyLimitExceeded() == .fail(.bodyTooLarge))
        var late = streaming(Self.post, ended: false)
        #expect(late.bodyLimitExceeded() == .close)
        #expect(late.state == .closing)
    }

    @Test func bodyTimeoutAnswers408BeforeTheResponseAndClosesAfter() {
        var early = routed(Self.post, ended: false)
        #expect(early.bodyTimedOut() == .fail(.bodyTimeout))
        var late = streaming(Self.post, ended: false)
        #expect(late.bodyTimedOut() == .close)
        var done = streaming(Self.post, ended: true)
        #expect(done.bodyTimedOut() == .none)
    }

    // MARK: pipelining

    @Test func partsAfterTheRequestEndedArePipelined() {
        var machine = forwarding()
        #expect(machine.requestHead(Self.get) == .queuePipelined)
        #expect(machine.hasPipelined)
        #expect(machine.clientReadsPaused, "no more reads while parts wait")
        #expect(machine.requestEnd() == .queuePipelined)
        machine.pipelinedQueue(waiting: false)
        #expect(!machine.hasPipelined)
    }

    @Test func keepAliveEndsWhenTheHandlerSaysSo() {
        var machine = routed()
        machine.endKeepAlive()
        #expect(machine.request?.keepAlive == false)
    }

    // MARK: session

    @Test func boundedLoadsRunTheStoreTimer() {
        var machine = routed()
        machine.sessionLoadStarted(bounded: true)
        #expect(machine.state == .loadingSession(machine.request!, bounded: true))
        #expect(machine.timers.exchange == .store)
        #expect(machine.sessionLoadFinished() == .continueWithSession)
        #expect(machine.timers.exchange == nil)
        #expect(machine.sessionLoadFinished() == .ignore, "a second answer is stale")
    }

    @Test func storeTimeoutGoesOnAsAFailedLoadAndTheLateAnswerIsIgnored() {
        var machine = routed()
        machine.sessionLoadStarted(bounded: true)
        #expect(machine.storeTimedOut() == .continueWithSession)
        #expect(machine.sessionLoadFinished() == .ignore)
        var unbounded = routed()
        unbounded.sessionLoadStarted(bounded: false)
        #expect(unbounded.storeTimedOut() == .none, "Task loads are bounded by their own timeout")
    }

    // MARK: local answers

    @Test func localAnswerKeepsTheConnectionWhenTheRequestIsComplete() {
        var machine = routed()
        #expect(machine.answerLocally() == .writeLocalAnswer(close: false, finished: true))
        #expect(machine.state == .idle)
    }

    @Test func localAnswerClosesWithABodyStillToCome() {
        var machine = routed(Self.post, ended: false)
        #expect(machine.answerLocally() == .writeLocalAnswer(close: true, finished: true))
        #expect(machine.state == .closing)
    }

    @Test func localAnswerWithoutKeepAliveOrForcedCloses() {
        var machine = routed(Request(keepAlive: false, announcesBody: false, expectsContinue: false))
        #expect(machine.answerLocally() == .writeLocalAnswer(close: true, finished: true))
        var forced = routed()
        #expect(forced.answerLocally(forceClose: true) == .writeLocalAnswer(close: true, finished: true))
    }

    @Test func localAnswerBeforeTheEndOfABodylessRequestDrainsIt() {
        var machine = routed(Self.get, ended: false)
        #expect(machine.answerLocally() == .writeLocalAnswer(close: false, finished: false))
        #expect(machine.state == .answeredDraining(Self.get, linger: false))
        #expect(machine.requestBody() == .dropRequestPart)
        #expect(machine.requestEnd() == .finishDrained(close: false))
        #expect(machine.state == .idle)
    }

    @Test func noLocalAnswerOnceTheResponseStarted() {
        var machine = streaming()
        #expect(!machine.canAnswer)
        #expect(machine.answerLocally() == .close)
    }

    // MARK: upstream

    @Test func upstreamConnectionStartsForwardingAndAnswers100Continue() {
        var machine = routed(Request(keepAlive: true, announcesBody: true, expectsContinue: true), ended: false)
        machine.upstreamRequested()
        #expect(machine.state == .connectingUpstream(machine.request!))
        #expect(machine.upstreamConnected() == .startForwarding(sendContinue: true))
        #expect(machine.request?.upstreamAttached == true)
        var complete = routed(Request(keepAlive: true, announcesBody: true, expectsContinue: true))
        complete.upstreamRequested()
        #expect(complete.upstreamConnected() == .startForwarding(sendContinue: false), "no 100 for a body already in")
    }

    @Test func aLateUpstreamConnectionGoesBackToThePool() {
        var machine = routed()
        _ = machine.answerLocally()
        #expect(machine.upstreamConnected() == .releaseUpstream)
    }

    @Test func unsolicitedResponseHeadBreaksTheUpstream() {
        var machine = streaming()
        #expect(machine.responseHead() == .markUpstreamBroken)
    }

    @Test func responseTimeoutAnswers504OnlyWhileWaitingForTheHead() {
        var machine = forwarding()
        #expect(machine.responseTimedOut() == .fail(.responseTimeout))
        var streaming = streaming()
        #expect(streaming.responseTimedOut() == .none)
    }

    @Test func responseStreamsAndEndsWithTheUpstreamBackInThePool() {
        var machine = streaming()
        #expect(machine.timers.exchange == nil)
        #expect(machine.responseBody() == .forwardResponsePart)
        #expect(machine.responseEnd() == .finishResponse(releaseUpstream: true, close: false))
        #expect(machine.state == .idle)
    }

    @Test func closeDelimitedResponseClosesAfter() {
        var machine = forwarding()
        _ = machine.responseHead()
        machine.responseHeadSent(closeAfter: true)
        #expect(machine.responseEnd() == .finishResponse(releaseUpstream: true, close: true))
        #expect(machine.state == .closing)
    }

    @Test func earlyUpstreamAnswerDrainsTheBodyWithALinger() {
        var machine = streaming(Self.post, ended: false)
        #expect(machine.responseEnd() == .finishResponseEarly)
        #expect(machine.state == .answeredDraining(machine.request!, linger: true))
        #expect(machine.request?.keepAlive == false)
        #expect(machine.timers.exchange == .linger)
        #expect(machine.requestBody() == .dropRequestPart)
        #expect(machine.requestEnd() == .finishDrained(close: true))
        var lingering = streaming(Self.post, ended: false)
        _ = lingering.responseEnd()
        #expect(lingering.lingerTimedOut() == .close)
    }

    @Test func directivesHoldTheResponseAndPauseTheUpstream() {
        var machine = forwarding()
        _ = machine.responseHead()
        machine.applyingDirectives()
        #expect(machine.upstreamReadsPaused)
        #expect(machine.canAnswer)
        #expect(machine.responseBody() == .bufferResponsePart)
        #expect(machine.responseEnd() == .bufferResponsePart)
        #expect(machine.responseBody() == .ignore, "nothing after the end")
        #expect(machine.directivesApplied() == .continueWithSession)
        machine.responseHeadSent(closeAfter: false)
        #expect(!machine.upstreamReadsPaused)
        #expect(machine.responseEnd() == .finishResponse(releaseUpstream: true, close: false))
    }

    @Test func upstreamFailureDependsOnHowFarTheResponseGot() {
        var waiting = forwarding()
        #expect(waiting.upstreamFailed() == .fail(.upstreamFailed))
        var midBody = streaming()
        #expect(midBody.upstreamFailed() == .close)
        var held = forwarding()
        _ = held.responseHead()
        held.applyingDirectives()
        _ = held.responseEnd()
        #expect(held.upstreamFailed() == .markUpstreamBroken, "a complete held response still goes out")
        #expect(held.request?.upstreamAttached == false)
        #expect(held.directivesApplied() == .continueWithSession)
        held.responseHeadSent(closeAfter: false)
        #expect(held.responseEnd() == .finishResponse(releaseUpstream: false, close: false))
        var routing = routed()
        #expect(routing.upstreamFailed() == .ignore)
    }

    @Test func droppedUpstreamIsDetached() {
        var machine = forwarding()
        machine.upstreamDetached()
        #expect(machine.request?.upstreamAttached == false)
    }

    @Test func upgradeBecomesATunnelWhenThe101Ends() {
        var machine = forwarding()
        _ = machine.responseHead()
        machine.switchedProtocols()
        #expect(machine.state == .tunnelling)
        #expect(machine.responseEnd() == .joinTunnel)
        #expect(machine.requestHead(Self.get) == .dropRequestPart)
    }

    // MARK: client side

    @Test func slowReaderRunsTheStallTimerRestartedByProgress() {
        var machine = streaming()
        machine.clientWritabilityChanged(false)
        let first = machine.timers.stall
        #expect(first != nil)
        #expect(machine.upstreamReadsPaused, "a full client queue stops the upstream reads")
        machine.clientWritabilityChanged(true)
        #expect(machine.timers.stall == nil)
        machine.clientWritabilityChanged(false)
        #expect(machine.timers.stall != first)
        #expect(machine.stallTimedOut() == .close)
        var idle = Machine()
        idle.clientWritabilityChanged(false)
        #expect(idle.timers.stall == nil)
    }

    @Test func quiesceEndsKeepAliveOrClosesWhenIdle() {
        var busy = streaming()
        #expect(busy.quiesce() == .none)
        #expect(busy.request?.keepAlive == false)
        #expect(busy.responseEnd() == .finishResponse(releaseUpstream: true, close: true))
        var idle = Machine()
        #expect(idle.quiesce() == .close)
    }

    @Test func clientCloseEndsEverything() {
        var machine = streaming()
        machine.clientClosed()
        #expect(machine.state == .closing)
        #expect(machine.clientReadsPaused)
        #expect(machine.timers == .init())
        #expect(machine.responseEnd() == .ignore)
    }
}

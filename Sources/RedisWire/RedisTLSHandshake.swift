import Foundation
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// What certificate verification found wrong, noted while BoringSSL verifies the chain (its own
/// error says only "CERTIFICATE_VERIFY_FAILED"), so the failure can say why.
/// Also keeps the first TLS error after the handshake (a TLS 1.3 server's alert about the client
/// certificate arrives then), which may close the channel before the RESP handshake sees why.
final class RedisTLSVerificationNotes: Sendable {
    private let problem = Mutex<RedisTLSFailure.CertificateProblem?>(nil)
    private let laterError = Mutex<String?>(nil)

    var recorded: RedisTLSFailure.CertificateProblem? { problem.withLock { $0 } }
    var errorAfterHandshake: String? { laterError.withLock { $0 } }

    func noteAfterHandshake(_ error: any Error) {
        guard let detail = RedisTLSFailure.describeAfterHandshake(error) else { return }
        laterError.withLock { $0 = $0 ?? detail }
    }

    /// Passes BoringSSL's verdict through unchanged; remembers the first certificate it rejects.
    func observe(_ result: NIOSSLVerificationResult, _ certificate: NIOSSLCertificate) -> NIOSSLVerificationResult {
        if result == .failed {
            let problem = RedisTLSFailure.CertificateProblem(
                notValidBefore: Int64(certificate.notValidBefore), notValidAfter: Int64(certificate.notValidAfter),
                now: Int64(Date().timeIntervalSince1970))
            self.problem.withLock { $0 = $0 ?? problem }
        }
        return result
    }
}

extension RedisTLS {
    /// The client handler for one connection to `host` (first in the pipeline).
    func makeHandler(host: String, notes: RedisTLSVerificationNotes) throws -> NIOSSLClientHandler {
        // Called through the protocol: the witness is deprecated (see below), the requirement not.
        let factory: any ObservingHandlerFactory.Type = RedisTLSHandlerFactory.self
        return try factory.make(context: context, serverHostname: expectedName(for: host), notes: notes)
    }
}

private protocol ObservingHandlerFactory {
    static func make(context: NIOSSLContext, serverHostname: String?, notes: RedisTLSVerificationNotes) throws
        -> NIOSSLClientHandler
}

/// Builds the handler with NIOSSL's per-certificate callback, which observes BoringSSL's own
/// verification (the newer custom callback would replace it). NIOSSL marks that initializer
/// deprecated; it is kept only for this observation.
private enum RedisTLSHandlerFactory: ObservingHandlerFactory {
    @available(*, deprecated, message: "uses NIOSSL's observing verification callback")
    static func make(context: NIOSSLContext, serverHostname: String?, notes: RedisTLSVerificationNotes) throws
        -> NIOSSLClientHandler
    {
        try NIOSSLClientHandler(context: context, serverHostname: serverHostname, verificationCallback: notes.observe)
    }
}

/// Completes `promise` when the TLS handshake has finished, or fails it with what stopped it.
/// Sits right after the `NIOSSLClientHandler` and passes everything on.
final class RedisTLSHandshakeWaiter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let promise: EventLoopPromise<Void>
    private let notes: RedisTLSVerificationNotes
    private var handshakeCompleted = false

    init(promise: EventLoopPromise<Void>, notes: RedisTLSVerificationNotes) {
        self.promise = promise
        self.notes = notes
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent {
            handshakeCompleted = true
            promise.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if handshakeCompleted { notes.noteAfterHandshake(error) }
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(RedisTLSFailure.closedDuringHandshake)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(RedisTLSFailure.closedDuringHandshake)
    }
}

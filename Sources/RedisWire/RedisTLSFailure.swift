import NIOCore
import NIOSSL

/// Why a TLS handshake failed, in words an operator can act on; never a key, a password or a
/// certificate's contents (host names and the CA's role only).
enum RedisTLSFailure {
    /// The channel closed before the handshake finished.
    struct ClosedDuringHandshake: Error {}
    static let closedDuringHandshake = ClosedDuringHandshake()

    /// No finished handshake within the connect timeout.
    struct HandshakeTimeout: Error {
        var milliseconds: Int64
    }

    /// The first certificate BoringSSL rejected, by its validity window at the time.
    struct CertificateProblem: Sendable, Equatable {
        var notValidBefore: Int64
        var notValidAfter: Int64
        var now: Int64

        var description: String {
            if now > notValidAfter { return "the server certificate has expired (certificate expired)" }
            if now < notValidBefore { return "the server certificate is not valid yet" }
            return "the server certificate is not signed by a trusted CA (unknown CA; check tls_ca)"
        }
    }

    /// The detail of a failed handshake with a server expected to be `expectedName` (nil: an
    /// IP address, checked against its IP SANs).
    static func describe(_ error: any Error, problem: CertificateProblem?, expectedName: String?) -> String {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            let name = expectedName.map { "\"\($0)\"" } ?? "the server's IP address"
            return "the server certificate does not name \(name) (name mismatch; check the host or tls_server_name)"
        }
        let closed = "the server closed the connection during the TLS handshake (a plain-text port, or a client certificate required?)"
        if error is ClosedDuringHandshake || error as? NIOSSLError == .uncleanShutdown { return closed }
        if let timeout = error as? HandshakeTimeout {
            return "no TLS handshake within \(timeout.milliseconds) ms (the server did not answer in TLS: a plain-text port?)"
        }
        if case .handshakeFailed(let reason)? = error as? NIOSSLError {
            let text = "\(reason)"
            return text.contains("EOF during handshake") ? closed : describe(reasons: reasonCodes(in: text), problem: problem)
        }
        return "TLS handshake failed (\(error))"
    }

    /// A TLS error after the handshake, e.g. the alert a TLS 1.3 server sends once it has checked
    /// the client's certificate (the client's side of the handshake is already over by then).
    static func describeAfterHandshake(_ error: any Error) -> String? {
        guard error is NIOSSLError || error is BoringSSLError else { return nil }
        let reasons = reasonCodes(in: "\(error)")
        if reasons.contains(where: { $0.contains("CERTIFICATE_REQUIRED") }) {
            return "the server requires a client certificate (tls_cert and tls_key)"
        }
        if reasons.contains(where: { $0.contains("ALERT") }) {
            return "the server ended TLS with an alert (\(reasons.joined(separator: ", ")))"
        }
        return reasons.isEmpty ? "TLS error" : "TLS error (\(reasons.joined(separator: ", ")))"
    }

    /// BoringSSL's reason codes (`CERTIFICATE_VERIFY_FAILED`, `WRONG_VERSION_NUMBER`) picked out of
    /// its error stack's text, which also holds source paths and numbers.
    static func reasonCodes(in text: String) -> [String] {
        text.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") })
            .compactMap { token in token.split(separator: ":").last.map(String.init) }
            .filter { token in token.contains("_") && token == token.uppercased() && token.first?.isLetter == true }
    }

    static func describe(reasons: [String], problem: CertificateProblem?) -> String {
        if reasons.contains("CERTIFICATE_VERIFY_FAILED") {
            return problem?.description ?? "the server certificate failed verification"
        }
        if reasons.contains(where: { ["WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"].contains($0) }) {
            return "the server did not answer in TLS (a plain-text port?)"
        }
        if reasons.contains(where: { $0.contains("CERTIFICATE_REQUIRED") || $0.contains("HANDSHAKE_FAILURE") }) {
            return "the server refused the handshake (it may require a client certificate: tls_cert and tls_key)"
        }
        let shown = reasons.isEmpty ? "no reason given" : reasons.joined(separator: ", ")
        return "TLS handshake failed (\(shown))"
    }
}

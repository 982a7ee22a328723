import Foundation
import Logging
import NIOSSL
import PostgresNIO
import SessionGateCore

/// One connection attempt outside the pool, to say *why* the database is unreachable.
///
/// The pool keeps retrying failed connections and only lets waiting calls time out, so a
/// certificate problem would otherwise show as "timeout". `PostgresStoreService` runs this probe
/// when the migration fails and logs the reason.
public enum PostgresConnectionProbe {
    /// nil when a connection opens and authenticates; otherwise the reason, safe for logs.
    public static func failure(url: PostgresURL, timeout: Duration = .seconds(5), logger: Logger) async -> String? {
        let configuration: PostgresConnection.Configuration
        do {
            configuration = try url.connectionConfiguration(connectTimeout: timeout)
        } catch {
            return error.detail
        }
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
            return nil
        } catch {
            let failure = PostgresConnectFailure(error, url: url)
            guard failure.isChainVerification else { return failure.description }
            let chain = try? await PostgresPeerCertificates.fetch(host: url.host, port: url.port, timeout: timeout)
            return PostgresConnectFailure.chainReason(chain, now: Int(Date().timeIntervalSince1970), url: url)
        }
    }
}

/// A connection error in words: the TLS step that failed (server without TLS, unknown CA, name
/// mismatch, expired certificate, handshake) or the server's refusal by SQLSTATE. Never the
/// password, the server's message text or the URL.
struct PostgresConnectFailure: CustomStringConvertible {
    let description: String
    /// BoringSSL's `CERTIFICATE_VERIFY_FAILED`: an unknown CA or an expired certificate (the
    /// chain tells which: `chainReason`).
    var isChainVerification = false

    init(_ error: any Error, url: PostgresURL) {
        let mode = "sslmode=\(url.sslMode.rawValue)\(url.sslModeIsDefault ? " (the default for a non-loopback host)" : "")"
        guard let error = error as? PSQLError else {
            description = "connection failed: \(Self.tlsReason(error, url: url) ?? "\(type(of: error))")"
            return
        }
        switch error.code {
        case .sslUnsupported:
            description =
                "TLS: the server does not offer TLS and \(mode) requires it (plain text is never used instead); enable ssl on the server, or set sslmode=disable only for a trusted private network"
        case .server:
            let state = error.serverInfo?[.sqlState] ?? "?????"
            if state == "28000", url.sslMode == .disable {
                description =
                    "the server refused the connection (SQLSTATE 28000: no pg_hba.conf entry for a plain-text client; a server that allows only hostssl needs sslmode=verify-full)"
            } else if state == "28P01" {
                description = "the server refused the password (SQLSTATE 28P01)"
            } else {
                description = "the server refused the connection (SQLSTATE \(state))"
            }
        default:
            if let underlying = error.underlying, let reason = Self.tlsReason(underlying, url: url) {
                description = reason
                isChainVerification = reason == Self.chainFailed(url)
            } else {
                description = "connection failed: \(error.code)"
            }
        }
    }

    static func chainFailed(_ url: PostgresURL) -> String {
        "TLS: the server certificate failed verification against \(roots(url))"
    }

    static func roots(_ url: PostgresURL) -> String {
        url.sslRootCert.map { "sslrootcert \($0)" } ?? "the system roots"
    }

    /// Why a chain failed verification, from the validity of the certificates the server sent
    /// (leaf first; nil when they could not be fetched).
    static func chainReason(_ chain: [PostgresPeerCertificates.Validity]?, now: Int, url: PostgresURL) -> String {
        guard let chain, !chain.isEmpty else { return chainFailed(url) }
        if let index = chain.firstIndex(where: { now > $0.notAfter }) {
            let which = index == 0 ? "the server certificate" : "certificate \(index) of the server's chain"
            let day = Date(timeIntervalSince1970: TimeInterval(chain[index].notAfter)).formatted(.iso8601.year().month().day())
            return "TLS: expired certificate: \(which) expired on \(day)"
        }
        if let index = chain.firstIndex(where: { now < $0.notBefore }) {
            return "TLS: certificate \(index) of the server's chain is not valid yet (check the clocks)"
        }
        return "TLS: unknown CA: the server's certificate chain does not lead to a CA in \(roots(url))"
    }

    /// nil when `error` is not a TLS error.
    static func tlsReason(_ error: any Error, url: PostgresURL) -> String? {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "TLS: name mismatch: the server certificate does not name \(url.host) (sslmode=verify-full checks the URL's host)"
        }
        if let ssl = error as? NIOSSLError {
            if case .handshakeFailed(let inner) = ssl {
                let text = "\(inner)"
                if text.contains("CERTIFICATE_VERIFY_FAILED") { return chainFailed(url) }
                // BoringSSL's reason code (e.g. TLSV1_ALERT_PROTOCOL_VERSION), not its source path.
                let reason = text.split(separator: ":").dropFirst(4).first?.split(separator: " ").first
                return "TLS handshake failed: \(reason.map(String.init) ?? "\(ssl)")"
            }
            return "TLS: \(ssl)"
        }
        return nil
    }
}

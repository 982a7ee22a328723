import NIOSSL
import PostgresNIO
import SessionGateCore

extension PostgresURL {
    /// The client configuration for this URL. The certificate files are read now, so a missing
    /// or malformed file fails here (at startup, and in `sessiongate check`) rather than on the
    /// first connection.
    public func clientConfiguration(connectTimeout: Duration = .seconds(5)) throws(StoreError) -> PostgresClient.Configuration {
        var tls = PostgresClient.Configuration.TLS.disable
        if let configuration = try tlsConfiguration() { tls = .require(configuration) }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password?.revealed, database: database, tls: tls)
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    /// The single-connection configuration (for `PostgresConnectionProbe`), same TLS.
    public func connectionConfiguration(connectTimeout: Duration = .seconds(5)) throws(StoreError)
        -> PostgresConnection.Configuration
    {
        var tls = PostgresConnection.Configuration.TLS.disable
        if let configuration = try tlsConfiguration() { tls = .require(try Self.context(configuration)) }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password?.revealed, database: database, tls: tls)
        configuration.options.connectTimeout = .init(connectTimeout)
        return configuration
    }

    /// nil for `sslmode=disable`. TLS 1.2 at least; NIOSSL's default (modern) cipher suites.
    public func tlsConfiguration() throws(StoreError) -> TLSConfiguration? {
        guard sslMode != .disable else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        switch verification {
        case .none: tls.certificateVerification = .none
        case .chain: tls.certificateVerification = .noHostnameVerification
        case .chainAndHost: tls.certificateVerification = .fullVerification
        }
        if let sslRootCert {
            tls.trustRoots = .certificates(try Self.certificates(sslRootCert, "sslrootcert"))
        }
        if let sslCert, let sslKey {
            tls.certificateChain = try Self.certificates(sslCert, "sslcert").map { .certificate($0) }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: sslKey, format: .pem))
            } catch {
                throw StoreError(.protocolError, "postgres url sslkey: \(sslKey) is not a readable PEM private key")
            }
            _ = try Self.context(tls)  // a key that does not match the certificate fails here
        }
        return tls
    }

    private static func context(_ configuration: TLSConfiguration) throws(StoreError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw StoreError(.protocolError, "postgres url: the TLS settings are unusable (sslcert and sslkey do not match?)")
        }
    }

    /// Every certificate of a PEM file; the message names the parameter and the path (never the URL).
    static func certificates(_ path: String, _ parameter: String) throws(StoreError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw StoreError(.protocolError, "postgres url \(parameter): \(path) is not a readable PEM certificate file")
        }
        guard !certificates.isEmpty else {
            throw StoreError(.protocolError, "postgres url \(parameter): \(path) holds no PEM certificate")
        }
        return certificates
    }
}

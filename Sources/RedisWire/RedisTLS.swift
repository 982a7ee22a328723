import NIOCore
import NIOSSL

/// TLS for every connection of a client (`rediss://`). Built once, because building reads the
/// PEM files; each connection then gets its own handler from the shared context.
///
/// Verification is on unless `verifyCertificates` is false: the chain must lead to `caFile` (or,
/// without one, the system roots) and the certificate must name the host (a DNS name for a host
/// name, an IP address SAN for an address) or `serverName` when set. There is no plain-text
/// fallback anywhere: a failed handshake fails the connection.
public struct RedisTLS: Sendable {
    /// The name sent in SNI and checked against the certificate instead of the host connected to.
    public let serverName: String?
    public let verifiesCertificates: Bool
    let context: NIOSSLContext

    /// - Parameters:
    ///   - caFile: PEM file of the certificates to trust; nil trusts the system roots.
    ///   - certificateFile: PEM client certificate (chain) for servers that ask for one.
    ///   - keyFile: PEM private key of `certificateFile`; both or neither.
    public init(
        caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil,
        verifyCertificates: Bool = true
    ) throws(RedisError) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = verifyCertificates ? .fullVerification : .none
        if let caFile {
            configuration.trustRoots = .certificates(try Self.certificates(caFile, role: "CA certificate file"))
        }
        switch (certificateFile, keyFile) {
        case (nil, nil):
            break
        case (let certificateFile?, let keyFile?):
            configuration.certificateChain = try Self.certificates(certificateFile, role: "client certificate file")
                .map { .certificate($0) }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            } catch {
                throw RedisError(.configuration, "client key file \(keyFile) holds no readable PEM private key")
            }
        default:
            throw RedisError(.configuration, "a client certificate needs both its certificate file and its key file")
        }
        if let serverName, serverName.isEmpty || Self.isIPAddress(serverName) {
            throw RedisError(
                .configuration, "TLS server name must be a DNS name (IP addresses are matched against the address connected to)")
        }
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw RedisError(.configuration, "cannot set up TLS: \(error)")
        }
        self.serverName = serverName
        self.verifiesCertificates = verifyCertificates
    }

    /// The name to send in SNI and verify for `host`: the override, else the host unless it is an
    /// IP address (SNI carries no addresses; NIOSSL then matches IP SANs against the peer address).
    func expectedName(for host: String) -> String? {
        serverName ?? (Self.isIPAddress(host) ? nil : host)
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    private static func certificates(_ path: String, role: String) throws(RedisError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw RedisError(.configuration, "\(role) \(path) cannot be read as PEM certificates")
        }
        guard !certificates.isEmpty else { throw RedisError(.configuration, "\(role) \(path) holds no PEM certificate") }
        return certificates
    }
}

import Foundation
import NIOSSL
import SessionGateCore
import Synchronization

/// The client listener's TLS (`[server] tls_cert` / `tls_key`): TLS 1.2 and 1.3, ECDHE with
/// AES-GCM or ChaCha20-Poly1305 on 1.2 (1.3's suites are all AEAD), HTTP/1.1.
///
/// Each new connection takes the current context; `reload` swaps it (SIGHUP) without touching
/// connections already open. A file that fails to load leaves the current context in place.
public final class ListenerTLS: Sendable {
    private let current: Mutex<Loaded>

    struct Loaded {
        var context: NIOSSLContext
        var files: ProxyConfig.ListenerTLSFiles
        var serial: String
    }

    public init(files: ProxyConfig.ListenerTLSFiles) throws(ListenerTLSError) {
        current = Mutex(try Self.load(files))
    }

    /// The context for a connection accepted now.
    public var context: NIOSSLContext { current.withLock { $0.context } }

    /// The serving leaf certificate's serial number, hex: logged on load and reload.
    public var serial: String { current.withLock { $0.serial } }

    /// Re-reads the files; on success new connections get the new certificate. Throws (and keeps
    /// the old context) when a file is missing, malformed or the key does not match.
    public func reload(_ files: ProxyConfig.ListenerTLSFiles) throws(ListenerTLSError) {
        let loaded = try Self.load(files)
        current.withLock { $0 = loaded }
    }

    /// Reads and checks the files without keeping them (for `sessiongate check`).
    public static func validate(_ files: ProxyConfig.ListenerTLSFiles) throws(ListenerTLSError) {
        _ = try load(files)
    }

    static func load(_ files: ProxyConfig.ListenerTLSFiles) throws(ListenerTLSError) -> Loaded {
        let chain = try certificates(files.certificatePath)
        let key = try privateKey(files.keyPath)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.cipherSuites = "ECDHE+AESGCM:ECDHE+CHACHA20"
        configuration.applicationProtocols = ["http/1.1"]
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ListenerTLSError(
                key: "server.tls_key", "\(files.keyPath) is not the private key of the certificate in \(files.certificatePath)")
        }
        return Loaded(context: context, files: files, serial: Hex.encode(chain[0].serialNumber))
    }

    private static func certificates(_ path: String) throws(ListenerTLSError) -> [NIOSSLCertificate] {
        try readable(path, key: "server.tls_cert")
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw ListenerTLSError(key: "server.tls_cert", "\(path) is not a PEM certificate file")
        }
        guard !chain.isEmpty else {
            throw ListenerTLSError(key: "server.tls_cert", "\(path) holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")
        }
        return chain
    }

    private static func privateKey(_ path: String) throws(ListenerTLSError) -> NIOSSLPrivateKey {
        try readable(path, key: "server.tls_key")
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw ListenerTLSError(key: "server.tls_key", "\(path) is not an unencrypted PEM private key")
        }
    }

    private static func readable(_ path: String, key: String) throws(ListenerTLSError) {
        guard FileManager.default.fileExists(atPath: path) else { throw ListenerTLSError(key: key, "\(path) does not exist") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ListenerTLSError(key: key, "\(path) cannot be read (check its permissions)")
        }
    }
}

/// A certificate or key file that cannot serve: the config key and what is wrong (never the
/// key's contents).
public struct ListenerTLSError: Error, Sendable, CustomStringConvertible {
    public let key: String
    public let message: String

    init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}

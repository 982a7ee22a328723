import NIOCore
import SessionGateCore

/// The two arrays an `X-Session-Token` is built in (the claims' JSON, then the token), kept per
/// event loop and reused, so signing a request allocates nothing. A session larger than
/// `maxKeptCapacity` is signed in arrays that are dropped afterwards.
final class TokenScratch {
    static let maxKeptCapacity = 16384

    private var token: [UInt8] = []
    private var payload: [UInt8] = []

    /// Writes `X-Session-Token: <token>\r\n` for `claims` into `buffer`.
    func writeTokenField(_ claims: TokenClaims, signer: TokenSigner, into buffer: inout ByteBuffer) {
        token.removeAll(keepingCapacity: true)
        signer.appendToken(for: claims, to: &token, payloadScratch: &payload)
        ("X-Session-Token" as StaticString).withUTF8Buffer { name in
            token.withUnsafeBytes { HTTPWire.writeField(UnsafeRawBufferPointer(name), $0, into: &buffer) }
        }
        if token.capacity > Self.maxKeptCapacity { token = [] }
        if payload.capacity > Self.maxKeptCapacity { payload = [] }
    }
}

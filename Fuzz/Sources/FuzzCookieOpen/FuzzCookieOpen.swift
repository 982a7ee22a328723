import FuzzSupport
import SessionGateCore

// Cookie sealing and opening. The whole input is used twice: as a cookie value a client could
// send (it must never open, unless it is exactly what `seal` produced for that plaintext and
// nonce) and as a plaintext to seal (open(seal(x)) == x; any change to the sealed value fails).

private let newKey = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
private let oldKey = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
private let otherKey = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ 11) }
private let ring = try! CookieKeyRing(keys: [newKey, oldKey])
private let rotatedRing = try! CookieKeyRing(keys: [oldKey, newKey])
private let strangerRing = try! CookieKeyRing(keys: [otherKey])
private let cookieName = "__Host-session"

/// Hands out exactly the bytes it was given (the nonce of a value being re-sealed).
private struct FixedRandomBytes: RandomBytes {
    let value: [UInt8]
    func bytes(_ count: Int) -> [UInt8] {
        precondition(count == value.count, "unexpected nonce size \(count)")
        return value
    }
}

private let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCookieOpen(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let bytes = input.rest()

    // 1. The input as a presented cookie value.
    let presented = String(decoding: bytes, as: UTF8.self)
    if let plaintext = ring.open(presented, cookieName: cookieName) {
        // Only a genuine value opens: re-sealing with its own nonce must give the same text.
        let raw = Base64URL.decode(presented)!
        let nonce = Array(raw[5..<17])
        let keyID = Array(raw[1..<5])
        let sealingRing = keyID == ring.keyIDs[0] ? ring : rotatedRing
        let resealed = sealingRing.seal(plaintext, cookieName: cookieName, random: FixedRandomBytes(value: nonce))
        check(resealed == presented, "a value opened that seal does not produce: \(describe(presented))")
    }
    check(strangerRing.open(presented, cookieName: cookieName) == nil, "a value opened under an unrelated key")
    _ = ring.open(presented.utf8.count > 2 ? presented.dropFirst(2) : presented[...], cookieName: cookieName)

    // 2. The input as a plaintext.
    let nonce = (0..<12).map { UInt8(truncatingIfNeeded: bytes.count &+ $0 &* 31) }
    let sealed = ring.seal(bytes, cookieName: cookieName, random: FixedRandomBytes(value: nonce))
    check(sealed.utf8.count == CookieKeyRing.sealedValueLength(plaintextCount: bytes.count), "sealedValueLength is wrong")
    check(sealed.utf8.allSatisfy { urlAlphabet.contains($0) }, "sealed value is not base64url")
    let fits = sealed.utf8.count <= CookieKeyRing.maxCookieBytes
    let opened = ring.open(sealed, cookieName: cookieName)
    check(fits ? opened == bytes : opened == nil, "open(seal(x)) != x for \(bytes.count) bytes")
    check(fits ? rotatedRing.open(sealed, cookieName: cookieName) == bytes : true, "an older ring order cannot open")
    check(ring.open(sealed, cookieName: "session") == nil, "opened under another cookie name")
    check(strangerRing.open(sealed, cookieName: cookieName) == nil, "opened under an unrelated key")

    // 3. Any single change to the sealed text must fail: substitution, truncation, extension.
    var chars = Array(sealed.utf8)
    let position = Int(nonce[0] ^ (bytes.first ?? 0)) &* 131 % chars.count
    let replacement = urlAlphabet[(urlAlphabet.firstIndex(of: chars[position])! + 1 + Int(bytes.last ?? 0) % 63) % 64]
    chars[position] = replacement
    check(
        ring.open(String(decoding: chars, as: UTF8.self), cookieName: cookieName) == nil,
        "a value with character \(position) changed still opens")
    check(ring.open(sealed.dropLast(), cookieName: cookieName) == nil, "a truncated value still opens")
    check(ring.open(sealed + "A", cookieName: cookieName) == nil, "an extended value still opens")
    return 0
}

/// The client's IP address as the proxy believes it: the peer, or — when the peer is one of
/// `trusted_proxies` — the rightmost `X-Forwarded-For` entry that is not itself a trusted proxy
/// (what nginx's `real_ip_recursive on` does). Entries an untrusted hop could have written are
/// never believed; an entry that is not an IP address ends the walk (the peer's view is kept).
public enum ClientAddress {
    public static func resolve(peer: String?, forwardedFor: [String], trustedProxies: [CIDR]) -> String? {
        guard let peer else { return nil }
        func trusted(_ address: String) -> Bool { trustedProxies.contains { $0.contains(address) } }
        guard trusted(peer) else { return peer }
        var believed = peer
        let entries = forwardedFor.flatMap { $0.split(separator: ",") }
        for entry in entries.reversed() {
            let address = String(entry.trimmingASCIISpaces)
            guard IPAddressParser.parse(address) != nil else { break }
            believed = address
            if !trusted(address) { break }
        }
        return believed
    }
}

extension Substring {
    fileprivate var trimmingASCIISpaces: Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }
}

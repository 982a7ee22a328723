import Foundation

/// Ports for servers a test stops and starts again on the same port (an outage).
///
/// Such a port must lie outside the kernel's ephemeral range: while the server is down, any
/// outgoing connection on the machine — the test's own client reconnecting to that very port
/// among them (TCP self-connect) — may be given it as its local port, and the restart then fails
/// to bind ("port taken"). A port below the range is only ever taken by another listener.
public enum RestartablePort {
    /// A random port below the ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`).
    public static func random() -> Int {
        let ephemeralStart = ephemeralRangeStart()
        let upper = max(ephemeralStart, 12_000)
        return Int.random(in: 10_000..<upper)
    }

    static func ephemeralRangeStart() -> Int {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Findings already reported but not fixed yet, listed by id in the environment variable
/// `FUZZ_SKIP_KNOWN` (comma-separated), so a long run can look past them for new ones.
/// CI sets nothing: every known finding still fails the run until it is fixed.
public func isSkipped(_ finding: String) -> Bool {
    skippedFindings.contains(finding)
}

private let skippedFindings: Set<String> = {
    guard let raw = getenv("FUZZ_SKIP_KNOWN") else { return [] }
    return Set(String(cString: raw).split(separator: ",").map(String.init))
}()

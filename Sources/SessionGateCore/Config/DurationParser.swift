/// Parses configuration durations: an integer and a unit (`"500ms"`, `"90s"`, `"30m"`, `"12h"`,
/// `"7d"`), optionally several in a row from largest to smallest unit (`"1h30m"`).
public enum DurationParser {
    /// The units, largest first, with their length in milliseconds.
    static let units: [(suffix: String, milliseconds: Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]

    /// The duration in milliseconds, or nil when `text` is not a valid duration.
    public static func milliseconds(_ text: String) -> Int64? {
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        var total: Int64 = 0
        var lastUnitIndex = -1
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 12, let amount = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let letters = rest.prefix { $0.isASCII && $0.isLetter }
            guard let unitIndex = units.firstIndex(where: { $0.suffix == letters }), unitIndex > lastUnitIndex
            else { return nil }
            rest = rest.dropFirst(letters.count)
            lastUnitIndex = unitIndex
            let (product, overflowA) = amount.multipliedReportingOverflow(by: units[unitIndex].milliseconds)
            let (sum, overflowB) = total.addingReportingOverflow(product)
            guard !overflowA, !overflowB else { return nil }
            total = sum
        }
        return total
    }

    /// Renders milliseconds in the largest exact units, e.g. `5400000` -> `"1h30m"`.
    public static func format(milliseconds: Int64) -> String {
        if milliseconds == 0 { return "0s" }
        var rest = milliseconds
        var out = ""
        for unit in units where rest >= unit.milliseconds {
            out += "\(rest / unit.milliseconds)\(unit.suffix)"
            rest %= unit.milliseconds
        }
        return out
    }
}

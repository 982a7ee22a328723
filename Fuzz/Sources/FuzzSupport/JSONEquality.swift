import SessionGateCore

/// JSON equality as values, not as Swift cases: `.int(1)` equals `.double(1.0)` (the serializer
/// writes a whole-valued double as an integer, which parses back as `.int`).
public func sameJSON(_ left: JSONValue, _ right: JSONValue) -> Bool {
    switch (left, right) {
    case (.int(let integer), .double(let double)), (.double(let double), .int(let integer)):
        guard double.rounded() == double, double >= -0x1p63, double < 0x1p63 else { return false }
        return Int64(double) == integer
    case (.array(let lhs), .array(let rhs)):
        return lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { sameJSON($0, $1) }
    case (.object(let lhs), .object(let rhs)):
        return lhs.count == rhs.count && lhs.allSatisfy { key, value in rhs[key].map { sameJSON(value, $0) } ?? false }
    default:
        return left == right
    }
}

/// Nesting depth as `JSONParser.parse(maxDepth:)` counts it (a scalar is 0).
public func jsonDepth(_ value: JSONValue) -> Int {
    switch value {
    case .array(let elements): 1 + (elements.map(jsonDepth).max() ?? 0)
    case .object(let members): 1 + (members.values.map(jsonDepth).max() ?? 0)
    default: 0
    }
}

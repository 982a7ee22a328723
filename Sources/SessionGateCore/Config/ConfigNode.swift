/// A parsed configuration document, independent of the file format, so the core never depends on
/// a TOML library. Tables keep their keys in the order the reader produced them.
public indirect enum ConfigNode: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case double(Double)
    case bool(Bool)
    case array([ConfigNode])
    case table([(key: String, value: ConfigNode)])
    /// A value the configuration never accepts (e.g. a TOML date); the payload names its kind.
    case other(String)

    /// The kind of value, as messages name it ("a string", "an integer", ...).
    public var kindDescription: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .double: "a floating-point number"
        case .bool: "a boolean"
        case .array: "an array"
        case .table: "a table"
        case .other(let kind): "a \(kind)"
        }
    }

    /// The value stored under `key` when this is a table.
    public subscript(key: String) -> ConfigNode? {
        guard case .table(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    public static func == (lhs: ConfigNode, rhs: ConfigNode) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.table(let a), .table(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.other(let a), .other(let b)): a == b
        default: false
        }
    }
}

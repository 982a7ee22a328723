import SessionGateCore
import TOMLKit

/// A TOML syntax error with its position in the file (1-based line and column).
public struct TOMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// Reads TOML text into the format-neutral `ConfigNode` tree. The only file that imports TOMLKit.
public enum TOMLReader {
    public static func parse(_ text: String) throws(TOMLSyntaxError) -> ConfigNode {
        try TOMLPreflight.check(text)
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw TOMLSyntaxError(
                line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw TOMLSyntaxError(line: 1, column: 1, message: "\(error)")
        }
        return node(from: table)
    }

    private static func node(from table: TOMLTable) -> ConfigNode {
        .table(table.map { key, value in (key: key, value: node(from: value)) })
    }

    private static func node(from value: any TOMLValueConvertible) -> ConfigNode {
        switch value.type {
        case .table: value.table.map { node(from: $0) } ?? .other("table")
        case .array: .array(value.array.map { $0.map { node(from: $0) } } ?? [])
        case .string: value.string.map(ConfigNode.string) ?? .other("string")
        case .int: value.int.map { .integer(Int64($0)) } ?? .other("integer")
        case .double: value.double.map(ConfigNode.double) ?? .other("floating-point number")
        case .bool: value.bool.map(ConfigNode.bool) ?? .other("boolean")
        case .date: .other("date")
        case .time: .other("time")
        case .dateTime: .other("date-time")
        }
    }
}

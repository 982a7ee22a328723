/// One validation pass over a configuration document. Every reader records its problems and
/// returns nil instead of stopping, so a single run reports all issues.
struct ConfigPass {
    let environment: [String: String]
    let configDirectory: String
    private(set) var issues: [ConfigIssue] = []

    init(environment: [String: String], configDirectory: String) {
        self.environment = environment
        self.configDirectory = configDirectory
    }

    mutating func report(_ key: String, _ message: String) {
        issues.append(ConfigIssue(key: key, message: message))
    }

    mutating func reportType(_ key: String, expected: String, got node: ConfigNode) {
        report(key, "expected \(expected), got \(node.kindDescription)")
    }

    // MARK: Tables

    /// The sub-table `name` of `parent`: an empty table when absent, nil (and an issue) when the
    /// value is not a table. Unknown keys inside it are reported against `allowed`.
    mutating func section(_ parent: ConfigTable, _ name: String, allowed: [String]) -> ConfigTable? {
        guard let table = table(parent[name], key: parent.key(name)) else { return nil }
        checkKeys(table, allowed: allowed)
        return table
    }

    /// `node` as a table at `key`; absent means empty.
    mutating func table(_ node: ConfigNode?, key: String) -> ConfigTable? {
        switch node {
        case nil: return ConfigTable(path: key, entries: [])
        case .table(let entries)?: return ConfigTable(path: key, entries: entries)
        case let other?:
            reportType(key, expected: "a table ([\(key)] or an inline { ... })", got: other)
            return nil
        }
    }

    /// Reports every key of `table` that is not in `allowed`, suggesting the closest known key.
    mutating func checkKeys(_ table: ConfigTable, allowed: [String]) {
        for entry in table.entries where !allowed.contains(entry.key) {
            let location = table.path.isEmpty ? "at the top level" : "in \(table.header)"
            let hint = ConfigSuggestion.hint(for: entry.key, in: allowed)
            let known = hint.isEmpty ? "; known keys: \(allowed.joined(separator: ", "))" : hint
            report(table.key(entry.key), "unknown key \(location)\(known)")
        }
    }

    // MARK: Scalars

    /// A string value with `${VAR}` interpolated; nil when absent or invalid (invalid is reported).
    mutating func string(_ table: ConfigTable, _ name: String, expected: String = "a string") -> String? {
        guard let node = table[name] else { return nil }
        return string(node, key: table.key(name), expected: expected)
    }

    mutating func string(_ node: ConfigNode, key: String, expected: String = "a string") -> String? {
        guard case .string(let raw) = node else {
            reportType(key, expected: expected, got: node)
            return nil
        }
        return interpolate(raw, key: key)
    }

    /// Applies `${VAR}` substitution; messages name variables, never their values.
    mutating func interpolate(_ raw: String, key: String) -> String? {
        switch EnvInterpolation.interpolate(raw, environment: environment) {
        case .success(let text):
            return text
        case .failure(.missingVariables(let names)):
            let list = names.map { "${\($0)}" }.joined(separator: ", ")
            let noun = names.count == 1 ? "environment variable \(names[0]) is" : "environment variables are"
            report(key, "\(noun) not set (referenced as \(list)); export it or write the value directly")
            return nil
        case .failure(.malformedReference(let reason)):
            report(key, reason)
            return nil
        }
    }

    mutating func bool(_ table: ConfigTable, _ name: String) -> Bool? {
        guard let node = table[name] else { return nil }
        guard case .bool(let value) = node else {
            reportType(table.key(name), expected: "a boolean (true or false, unquoted)", got: node)
            return nil
        }
        return value
    }

    mutating func integer(_ table: ConfigTable, _ name: String, range: ClosedRange<Int64>) -> Int64? {
        guard let node = table[name] else { return nil }
        guard case .integer(let value) = node else {
            reportType(table.key(name), expected: "an integer (unquoted, e.g. \(range.lowerBound))", got: node)
            return nil
        }
        guard range.contains(value) else {
            report(table.key(name), "\(value) is out of range; expected \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return value
    }

    /// An `Int` configuration value (sizes, counts).
    mutating func int(_ table: ConfigTable, _ name: String, range: ClosedRange<Int64>) -> Int? {
        integer(table, name, range: range).map { Int($0) }
    }

    /// A duration such as "90s" in milliseconds; must be positive.
    mutating func durationMilliseconds(_ table: ConfigTable, _ name: String, example: String) -> Int64? {
        let key = table.key(name)
        guard let node = table[name] else { return nil }
        if case .integer(let value) = node {
            report(
                key,
                "expected a duration string with a unit, e.g. \"\(example)\"; got the bare integer \(value) (write \"\(value)s\" for seconds)"
            )
            return nil
        }
        let expected = "a duration string such as \"\(example)\" (units ms, s, m, h, d)"
        guard let text = string(node, key: key, expected: expected) else { return nil }
        guard let milliseconds = DurationParser.milliseconds(text) else {
            report(key, "\"\(text)\" is not a duration; expected an integer and a unit (ms, s, m, h, d), e.g. \"\(example)\"")
            return nil
        }
        guard milliseconds > 0 else {
            report(key, "must be greater than zero, e.g. \"\(example)\"")
            return nil
        }
        return milliseconds
    }

    /// A duration as a Swift `Duration`.
    mutating func duration(_ table: ConfigTable, _ name: String, example: String) -> Duration? {
        durationMilliseconds(table, name, example: example).map { .milliseconds($0) }
    }

    /// A duration in whole seconds (session lifetimes).
    mutating func seconds(_ table: ConfigTable, _ name: String, example: String) -> Int64? {
        guard let milliseconds = durationMilliseconds(table, name, example: example) else { return nil }
        guard milliseconds % 1000 == 0 else {
            report(table.key(name), "must be a whole number of seconds, e.g. \"\(example)\"")
            return nil
        }
        return milliseconds / 1000
    }

    /// One of a fixed set of string values.
    mutating func choice<Value: RawRepresentable>(
        _ table: ConfigTable, _ name: String, _ options: [Value]
    ) -> Value? where Value.RawValue == String {
        guard let node = table[name] else { return nil }
        return choice(node, key: table.key(name), options)
    }

    mutating func choice<Value: RawRepresentable>(
        _ node: ConfigNode, key: String, _ options: [Value]
    ) -> Value? where Value.RawValue == String {
        let names = options.map(\.rawValue)
        let list = names.map { "\"\($0)\"" }.joined(separator: " | ")
        guard let text = string(node, key: key, expected: "one of \(list)") else { return nil }
        if let value = Value(rawValue: text) { return value }
        report(key, "\"\(text)\" is not allowed; expected one of \(list)\(ConfigSuggestion.hint(for: text, in: names))")
        return nil
    }

    /// An array value (elements unchecked).
    mutating func array(_ table: ConfigTable, _ name: String, expected: String) -> [ConfigNode]? {
        guard let node = table[name] else { return nil }
        guard case .array(let elements) = node else {
            reportType(table.key(name), expected: expected, got: node)
            return nil
        }
        return elements
    }

    /// An array of strings, each interpolated; nil when any element is invalid.
    mutating func stringArray(_ table: ConfigTable, _ name: String, example: String) -> [String]? {
        guard let elements = array(table, name, expected: "an array of strings, e.g. \(example)") else { return nil }
        var out: [String] = []
        var valid = true
        for (index, element) in elements.enumerated() {
            if let text = string(element, key: "\(table.key(name))[\(index)]") {
                out.append(text)
            } else {
                valid = false
            }
        }
        return valid ? out : nil
    }

    /// Reports a missing required key.
    mutating func requireKey(_ table: ConfigTable, _ name: String, _ advice: String) {
        if !table.has(name) { report(table.key(name), "missing; \(advice)") }
    }
}

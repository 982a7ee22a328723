/// A table under construction. A class because headers and dotted keys reopen tables deep in the
/// tree; the finished document is converted to value-typed `ConfigNode`s once, at the end.
final class TOMLTableBuilder {
    /// How the table came to exist, which decides how it may be extended later.
    enum Origin {
        /// The document itself.
        case root
        /// Created on the way to a deeper header (`a` by `[a.b]`); a later `[a]` may define it once.
        case implicit
        /// Defined by a `[header]`; never defined again, never extended by dotted keys from elsewhere.
        case header
        /// One element of an array of tables (`[[a]]`).
        case arrayElement
        /// Created by a dotted key; only dotted keys of the same section may add to it.
        case dotted(section: Int)
        /// An inline table `{ ... }` (frozen once its closing brace is read).
        case inline
    }

    var origin: Origin
    let depth: Int
    /// Where it was defined (or first created), for "first defined on line N".
    var definedAt: Int
    private(set) var order: [String] = []
    private(set) var entries: [String: TOMLBuilderEntry] = [:]

    init(origin: Origin, depth: Int, definedAt: Int) {
        self.origin = origin
        self.depth = depth
        self.definedAt = definedAt
    }

    subscript(key: String) -> TOMLBuilderEntry? { entries[key] }

    func insert(_ entry: TOMLBuilderEntry, for key: String) {
        if entries.updateValue(entry, forKey: key) == nil { order.append(key) }
    }

    /// The finished table; recursion is bounded by `TOMLParser.maximumNestingDepth`.
    func node() -> ConfigNode {
        .table(order.compactMap { key in entries[key].map { (key: key, value: $0.node()) } })
    }
}

/// An array of tables under construction (`[[a]]`).
final class TOMLTableArrayBuilder {
    private(set) var elements: [TOMLTableBuilder]
    let definedAt: Int

    init(first: TOMLTableBuilder, definedAt: Int) {
        elements = [first]
        self.definedAt = definedAt
    }

    func append(_ element: TOMLTableBuilder) { elements.append(element) }

    /// The element `[a.b]` and later headers under `a` refer to (there is always at least one).
    var last: TOMLTableBuilder { elements[elements.count - 1] }
}

/// What a key holds while the document is being built.
enum TOMLBuilderEntry {
    /// A finished value: scalar, array (`[...]`, never extensible) or inline table.
    case value(ConfigNode, definedAt: Int)
    case table(TOMLTableBuilder)
    case tableArray(TOMLTableArrayBuilder)

    func node() -> ConfigNode {
        switch self {
        case .value(let node, _): node
        case .table(let table): table.node()
        case .tableArray(let array): .array(array.elements.map { $0.node() })
        }
    }
}

// MARK: - The redefinition rules

extension TOMLDocumentParser {
    /// `[a.b.c]`: walks to `a.b` (creating implicit tables), then defines `c`.
    mutating func defineTable(_ path: [TOMLKeyPart], headerAt offset: Int) throws(TOMLFailure) {
        var header: String { "[\(Self.render(path))]" }
        let parent = try walkToHeaderParent(path, isArray: false)
        let last = path[path.count - 1]
        let table: TOMLTableBuilder
        switch parent[last.name] {
        case nil:
            table = try makeTable(in: parent, key: last, origin: .header, definedAt: offset)
        case .table(let existing):
            switch existing.origin {
            case .implicit:
                existing.origin = .header
                existing.definedAt = offset
                table = existing
            case .dotted:
                throw failure(
                    "table \(header) was already created by dotted keys on line \(lineNumber(at: existing.definedAt)) "
                        + "and cannot be defined again with a header",
                    at: last.offset)
            case .root, .header, .arrayElement, .inline:
                throw failure(
                    "table \(header) is defined twice (first defined on line \(lineNumber(at: existing.definedAt)))",
                    at: last.offset)
            }
        case .tableArray(let array):
            throw failure(
                "\(header) is already an array of tables (first defined on line \(lineNumber(at: array.definedAt))); "
                    + "add elements with [[\(Self.render(path))]]",
                at: last.offset)
        case .value(let node, let definedAt):
            throw failure(
                "cannot define table \(header): key \(Self.quotedForMessage(path)) already holds "
                    + "\(node.kindDescription) (defined on line \(lineNumber(at: definedAt)))",
                at: last.offset)
        }
        currentTable = table
        currentPath = path.map(\.name)
        sectionID = newSectionID()
    }

    /// `[[a.b.c]]`: walks to `a.b` (creating implicit tables), then appends a table to array `c`.
    mutating func appendTable(_ path: [TOMLKeyPart], headerAt offset: Int) throws(TOMLFailure) {
        var header: String { "[[\(Self.render(path))]]" }
        let parent = try walkToHeaderParent(path, isArray: true)
        let last = path[path.count - 1]
        let element = try makeTable(in: nil, key: last, origin: .arrayElement, definedAt: offset, depth: parent.depth + 1)
        switch parent[last.name] {
        case nil:
            parent.insert(.tableArray(TOMLTableArrayBuilder(first: element, definedAt: offset)), for: last.name)
        case .tableArray(let array):
            array.append(element)
        case .table(let existing):
            throw failure(
                "cannot append to \(header): key \(Self.quotedForMessage(path)) is already a table "
                    + "(defined on line \(lineNumber(at: existing.definedAt)))",
                at: last.offset)
        case .value(.array, let definedAt):
            throw failure(
                "cannot append to \(header): key \(Self.quotedForMessage(path)) is an array value defined on line "
                    + "\(lineNumber(at: definedAt)), and arrays written with [ ] cannot be extended",
                at: last.offset)
        case .value(let node, let definedAt):
            throw failure(
                "cannot append to \(header): key \(Self.quotedForMessage(path)) already holds "
                    + "\(node.kindDescription) (defined on line \(lineNumber(at: definedAt)))",
                at: last.offset)
        }
        currentTable = element
        currentPath = path.map(\.name)
        sectionID = newSectionID()
    }

    /// The table a header's last key lives in: existing tables of any kind are entered (the last
    /// element of an array of tables), missing ones are created implicitly, values are an error.
    private mutating func walkToHeaderParent(_ path: [TOMLKeyPart], isArray: Bool) throws(TOMLFailure)
        -> TOMLTableBuilder
    {
        var table = root
        for (position, part) in path.dropLast().enumerated() {
            switch table[part.name] {
            case nil:
                table = try makeTable(in: table, key: part, origin: .implicit, definedAt: part.offset)
            case .table(let existing):
                table = existing
            case .tableArray(let array):
                table = array.last
            case .value(let node, let definedAt):
                let prefix = Self.quotedForMessage(path[...position].map { $0 })
                let header = isArray ? "[[\(Self.render(path))]]" : "[\(Self.render(path))]"
                throw failure(
                    "cannot define table \(header): key \(prefix) already holds \(node.kindDescription) "
                        + "(defined on line \(lineNumber(at: definedAt)))",
                    at: part.offset)
            }
        }
        return table
    }

    /// `a.b.c = value` in `table`: walks or creates the dotted tables `a.b`, then sets `c`.
    /// `prefix` is the path of `table`, for messages.
    mutating func assign(
        _ value: ConfigNode, to key: [TOMLKeyPart], in table: TOMLTableBuilder, section: Int, prefix: [String]
    ) throws(TOMLFailure) {
        var target = table
        for (position, part) in key.dropLast().enumerated() {
            var walked: String { Self.quotedForMessage(names: prefix + key[...position].map(\.name)) }
            switch target[part.name] {
            case nil:
                target = try makeTable(in: target, key: part, origin: .dotted(section: section), definedAt: part.offset)
            case .table(let existing):
                switch existing.origin {
                case .implicit:
                    existing.origin = .dotted(section: section)
                    target = existing
                case .dotted(let owner) where owner == section:
                    target = existing
                case .dotted:
                    throw failure(
                        "cannot add to table \(walked) with a dotted key here: it was created by dotted keys in "
                            + "another section (line \(lineNumber(at: existing.definedAt)))",
                        at: part.offset)
                case .root, .header, .arrayElement, .inline:
                    throw failure(
                        "cannot add to table \(walked) with a dotted key: it was defined by a header on line "
                            + "\(lineNumber(at: existing.definedAt))",
                        at: part.offset)
                }
            case .tableArray(let array):
                throw failure(
                    "cannot add to \(walked) with a dotted key: it is an array of tables (defined on line "
                        + "\(lineNumber(at: array.definedAt)))",
                    at: part.offset)
            case .value(let node, let definedAt):
                throw failure(
                    "cannot use dotted key \(Self.quotedForMessage(names: prefix + key.map(\.name))): key \(walked) "
                        + "already holds \(node.kindDescription) (defined on line \(lineNumber(at: definedAt)))",
                    at: part.offset)
            }
        }
        let last = key[key.count - 1]
        var full: String { Self.quotedForMessage(names: prefix + key.map(\.name)) }
        switch target[last.name] {
        case nil:
            target.insert(.value(value, definedAt: last.offset), for: last.name)
        case .value(_, let definedAt):
            throw failure("duplicate key \(full) (first defined on line \(lineNumber(at: definedAt)))", at: last.offset)
        case .table(let existing):
            throw failure(
                "duplicate key \(full): it is already a table (defined on line \(lineNumber(at: existing.definedAt)))",
                at: last.offset)
        case .tableArray(let array):
            throw failure(
                "duplicate key \(full): it is already an array of tables (defined on line "
                    + "\(lineNumber(at: array.definedAt)))",
                at: last.offset)
        }
    }

    /// A new table one level below `parent` (inserted there unless `parent` is nil), refusing to
    /// nest deeper than the limit.
    private func makeTable(
        in parent: TOMLTableBuilder?, key: TOMLKeyPart, origin: TOMLTableBuilder.Origin, definedAt: Int,
        depth explicitDepth: Int? = nil
    ) throws(TOMLFailure) -> TOMLTableBuilder {
        let depth = explicitDepth ?? (parent?.depth ?? 0) + 1
        try checkDepth(depth, at: key.offset)
        let table = TOMLTableBuilder(origin: origin, depth: depth, definedAt: definedAt)
        parent?.insert(.table(table), for: key.name)
        return table
    }

    func checkDepth(_ depth: Int, at offset: Int) throws(TOMLFailure) {
        guard depth <= TOMLParser.maximumNestingDepth else {
            throw failure(
                "tables and arrays are nested too deeply (the limit is \(TOMLParser.maximumNestingDepth) levels)",
                at: offset)
        }
    }
}

/// A table of the configuration together with its dotted position (`server`, `route[2]`), so every
/// issue can name the full key.
struct ConfigTable {
    /// "" for the document root.
    let path: String
    let entries: [(key: String, value: ConfigNode)]

    init(path: String, entries: [(key: String, value: ConfigNode)]) {
        self.path = path
        self.entries = entries
    }

    /// The full key of `name` inside this table. Names that are not TOML bare keys (empty, or
    /// with dots, spaces or quotes) are quoted as TOML would write them, so a key is never "".
    func key(_ name: String) -> String {
        let written = Self.isBareKey(name) ? name : "\"" + name.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
        return path.isEmpty ? written : "\(path).\(written)"
    }

    static func isBareKey(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                    || byte == 0x2d || byte == 0x5f
            }
    }

    subscript(name: String) -> ConfigNode? { entries.first { $0.key == name }?.value }

    func has(_ name: String) -> Bool { self[name] != nil }

    /// How messages name this table: `[server]`, or `route[2]` for the third `[[route]]`.
    var header: String { path.hasSuffix("]") ? path : "[\(path)]" }
}

/// "Did you mean" suggestions for misspelt keys and values.
enum ConfigSuggestion {
    /// The candidate closest to `word` when it is close enough to be a likely typo.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let folded = fold(word)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(folded, fold(candidate))
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        guard let best else { return nil }
        let allowed = folded.count <= 4 ? 1 : (folded.count <= 8 ? 2 : 3)
        return best.distance <= allowed ? best.candidate : nil
    }

    /// `" (did you mean \"x\"?)"` or "".
    static func hint(for word: String, in candidates: [String]) -> String {
        guard let match = closest(to: word, in: candidates) else { return "" }
        return "; did you mean \"\(match)\"?"
    }

    private static func fold(_ word: String) -> [Character] {
        Array(word.lowercased().map { $0 == "-" ? "_" : $0 })
    }

    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in stride(from: 1, through: a.count, by: 1) {
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}

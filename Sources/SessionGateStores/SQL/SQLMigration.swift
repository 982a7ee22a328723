/// One step of a relational schema: a version, a name for the migrations table, and the
/// statements that take the previous version to this one. Statements are idempotent
/// (`IF NOT EXISTS`, `CREATE OR REPLACE`) so the printed schema can be re-run by hand.
public struct SQLMigration: Sendable, Equatable {
    public let version: Int
    public let name: String
    /// Each entry is one statement, without the trailing `;`.
    public let statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Builds the hand-runnable schema text (`sql/*.sql`, `sessiongate migrate --print-sql`).
enum SQLSchemaText {
    /// - Parameters:
    ///   - preamble: statements run first (transaction start, lock, migrations table).
    ///   - record: the statement that records one migration as applied.
    ///   - postamble: statements run last (commit).
    static func render(
        dialect: String, preamble: [String], migrations: [SQLMigration],
        record: (SQLMigration) -> String, postamble: [String]
    ) -> String {
        var text = """
            -- SessionGate session store schema for \(dialect).
            -- Generated from the migrations the proxy applies at start; running it by hand is
            -- equivalent and idempotent. Do not edit: regenerate with `sessiongate migrate --print-sql`.

            """
        for statement in preamble { text += "\n" + statement + ";\n" }
        for migration in migrations {
            text += "\n-- migration \(migration.version): \(migration.name)\n"
            for statement in migration.statements { text += statement + ";\n" }
            text += record(migration) + ";\n"
        }
        for statement in postamble { text += "\n" + statement + ";\n" }
        return text
    }
}

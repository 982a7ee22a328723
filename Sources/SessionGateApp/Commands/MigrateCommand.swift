import ArgumentParser
import SessionGateStores

/// `sessiongate migrate --print-sql [--backend postgres|sqlite]`: the schema the proxy creates
/// at start, for a DBA who prefers to create it by hand (also in `sql/`).
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Print the SQL schema the postgres and sqlite stores create at start.")

    @Flag(name: .long, help: "Print the schema SQL (the proxy applies it itself at start).")
    var printSQL = false

    @Option(name: .long, help: "postgres or sqlite.")
    var backend: String = "postgres"

    func run() throws {
        guard printSQL else {
            CommandOutput.terminal.errorLine("error: nothing to do: the proxy migrates at start; use --print-sql to see the SQL")
            throw ExitCode(2)
        }
        switch backend {
        case "postgres": CommandOutput.terminal.line(PostgresSessionStore.schemaSQL)
        case "sqlite": CommandOutput.terminal.line(SQLiteSessionStore.schemaSQL)
        default:
            CommandOutput.terminal.errorLine("error: --backend: expected postgres or sqlite, got \"\(backend)\"")
            throw ExitCode(2)
        }
    }
}

import ArgumentParser

/// The `sessiongate` executable's root command. Subcommands do the work.
///
/// To add one (e.g. `serve`, `demo`), write a `ParsableCommand` / `AsyncParsableCommand` in
/// `Commands/` and append its type to `subcommands` below.
public struct SessionGateCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sessiongate",
        abstract: "A reverse-proxy sidecar that adds server-side sessions to any HTTP backend.",
        subcommands: [
            CheckCommand.self,
            ExplainCommand.self,
            KeygenCommand.self,
            ServeCommand.self,
            DemoCommand.self,
            MigrateCommand.self,
            SessionsCommand.self,
        ]
    )

    public init() {}
}

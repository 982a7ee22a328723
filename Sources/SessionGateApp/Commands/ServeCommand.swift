import ArgumentParser
import Foundation
import SessionGateCore

/// `sessiongate serve --config FILE`: validates the whole file, then serves until SIGTERM/SIGINT
/// and exits 0 after draining.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the proxy with the given configuration.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "proxy.toml"

    @Option(name: .long, help: "Override [log] level (trace, debug, info, notice, warning, error, critical).")
    var logLevel: String?

    func run() async throws {
        let proxyConfig: ProxyConfig
        switch ConfigFile.load(path: config, environment: ProcessInfo.processInfo.environment) {
        case .success(let loaded): proxyConfig = loaded
        case .failure(let errors):
            for issue in errors.issues { CommandOutput.terminal.errorLine("error: \(issue)") }
            throw ExitCode(1)
        }
        let level = logLevel.flatMap(ProxyConfig.LogLevel.init(rawValue:)) ?? proxyConfig.log.level
        let logger = LogSetup.bootstrap(format: proxyConfig.log.format, level: level)
        try await ProxyApp(config: proxyConfig, logger: logger).run(configPath: config)
    }
}

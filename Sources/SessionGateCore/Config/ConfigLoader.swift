/// Turns a parsed configuration document into a validated `ProxyConfig`.
///
/// All problems are collected in one pass: unknown keys (with "did you mean"), wrong types,
/// malformed durations, missing `${VAR}`s, key lengths, globs and inconsistent settings.
public enum ConfigLoader {
    /// The top-level tables.
    static let sections = ["server", "upstream", "cookie", "session", "store", "signing", "log", "inject", "routes", "route", "admin"]

    /// Validates `root` (the whole document).
    /// - Parameters:
    ///   - environment: values for `${NAME}` references.
    ///   - configDirectory: the config file's folder; relative SQLite paths resolve against it.
    public static func load(
        _ root: ConfigNode, environment: [String: String], configDirectory: String
    ) -> Result<ProxyConfig, ConfigErrors> {
        var pass = ConfigPass(environment: environment, configDirectory: configDirectory)
        guard case .table(let entries) = root else {
            return .failure(ConfigErrors(issues: [ConfigIssue(key: "config", message: "expected a table of sections")]))
        }
        let document = ConfigTable(path: "", entries: entries)
        pass.checkKeys(document, allowed: sections)

        var config = ProxyConfig(
            server: .init(), upstream: .init(), cookie: .init(), session: .init(), store: .init(),
            signing: .init(), log: .init(), inject: [], routes: .init())
        if let table = pass.section(document, "server", allowed: ServerKeys.all) {
            config.server = pass.readServer(table)
        }
        if let table = pass.section(document, "upstream", allowed: UpstreamKeys.all) {
            config.upstream = pass.readUpstream(table)
        }
        if let table = pass.section(document, "cookie", allowed: CookieKeys.all) {
            config.cookie = pass.readCookie(table)
        }
        if let table = pass.section(document, "session", allowed: SessionKeys.all) {
            config.session = pass.readSession(table)
        }
        if let table = pass.section(document, "store", allowed: StoreKeys.all) {
            config.store = pass.readStore(table)
        }
        if let table = pass.section(document, "signing", allowed: SigningKeys.all) {
            config.signing = pass.readSigning(table)
        }
        if let table = pass.section(document, "log", allowed: ["format", "level", "access"]) {
            config.log = pass.readLog(table)
        }
        if let table = pass.table(document["inject"], key: "inject") {
            config.inject = pass.readInject(table)
        }
        config.routes = pass.readRoutes(document)
        if let table = pass.section(document, "admin", allowed: AdminKeys.all) {
            config.admin = pass.readAdmin(table)
        }

        return pass.issues.isEmpty ? .success(config) : .failure(ConfigErrors(issues: pass.issues))
    }
}

extension ConfigPass {
    mutating func readLog(_ table: ConfigTable) -> ProxyConfig.Log {
        var log = ProxyConfig.Log()
        if let format = choice(table, "format", [ProxyConfig.LogFormat.json, .text]) { log.format = format }
        if let level = choice(table, "level", ProxyConfig.LogLevel.allCases) { log.level = level }
        if let access = bool(table, "access") { log.access = access }
        return log
    }
}

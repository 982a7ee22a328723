import Foundation
import Logging
import SessionGateCore

/// Process-wide logging: JSON lines (one object per line, for log shippers) or plain text for a
/// terminal. Bootstrapped once, before anything logs.
enum LogSetup {
    private static let bootstrapped = NSLock()
    nonisolated(unsafe) private static var done = false

    static func bootstrap(format: ProxyConfig.LogFormat, level: ProxyConfig.LogLevel) -> Logger {
        bootstrapped.lock()
        if !done {
            done = true
            LoggingSystem.bootstrap { label in
                switch format {
                case .json: JSONLogHandler(label: label)
                case .text: StreamLogHandler.standardError(label: label)
                }
            }
        }
        bootstrapped.unlock()
        var logger = Logger(label: "sessiongate")
        logger.logLevel = Logger.Level(rawValue: level.rawValue) ?? .info
        return logger
    }
}

/// Writes each record as one JSON object on standard error: `ts`, `level`, `msg`, then metadata.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: JSONValue] = [
            "ts": .string(Date().formatted(.iso8601)), "level": .string(event.level.rawValue),
            "msg": .string(event.message.description),
        ]
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for (key, value) in merged { object[key] = .string("\(value)") }
        var line = JSONSerializer.serialize(.object(object))
        line.append(UInt8(ascii: "\n"))
        FileHandle.standardError.write(Data(line))
    }
}

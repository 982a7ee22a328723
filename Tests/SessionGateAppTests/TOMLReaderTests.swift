import Foundation
import SessionGateApp
import SessionGateCore
import Testing

@Suite("TOMLReader and ConfigFile")
struct TOMLReaderTests {
    @Test("TOML values become ConfigNodes")
    func values() throws {
        let node = try TOMLReader.parse(
            """
            title = "x"
            count = 42
            ratio = 0.5
            on = true
            list = [1, "two"]
            inline = { a = 1 }
            when = 1979-05-27
            [section]
            key = "v"
            [[item]]
            n = 1
            [[item]]
            n = 2
            """)
        #expect(node["title"] == .string("x"))
        #expect(node["count"] == .integer(42))
        #expect(node["ratio"] == .double(0.5))
        #expect(node["on"] == .bool(true))
        #expect(node["list"] == .array([.integer(1), .string("two")]))
        #expect(node["inline"] == .table([(key: "a", value: .integer(1))]))
        #expect(node["when"] == .other("date"))
        #expect(node["section"]?["key"] == .string("v"))
        #expect(node["item"] == .array([.table([(key: "n", value: .integer(1))]), .table([(key: "n", value: .integer(2))])]))
    }

    @Test("a syntax error reports its line and column")
    func syntaxErrorPosition() throws {
        do {
            _ = try TOMLReader.parse("[server]\nlisten = \"127.0.0.1:8080\"\nvia = = true\n")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.line == 3)
            #expect(error.column > 1)
            #expect(error.description.hasPrefix("line 3, column \(error.column): "))
        }
        do {
            _ = try TOMLReader.parse("a = 1\na = 2\n")
            Issue.record("expected a duplicate-key error")
        } catch {
            #expect(error.line == 2)
        }
    }

    @Test("ConfigFile reports a missing file under the key config")
    func missingFile() {
        let errors = ConfigFile.load(path: "/nonexistent/proxy.toml", environment: [:]).failure
        #expect(errors?.keys == ["config"])
        #expect(errors?.issues.first?.message.contains("does not exist") == true)
    }

    @Test("ConfigFile reports syntax errors with the position and resolves SQLite paths next to the file")
    func fileLoading() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sessiongate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let broken = directory.appendingPathComponent("broken.toml")
        try "[server]\nlisten = \"127.0.0.1:8080\n".write(to: broken, atomically: true, encoding: .utf8)
        let errors = try #require(ConfigFile.load(path: broken.path, environment: [:]).failure)
        try #require(errors.keys == ["config"])
        #expect(errors.issues[0].message.contains("line 2, column"))

        let good = directory.appendingPathComponent("proxy.toml")
        try (Fixture.minimal + "[store]\nbackend = \"sqlite\"\npath = \"sessions.db\"\n")
            .write(to: good, atomically: true, encoding: .utf8)
        let config = try ConfigFile.load(path: good.path, environment: Fixture.environment).get()
        #expect(config.store.path == directory.appendingPathComponent("sessions.db").path)
    }
}

/// Inputs on which toml++ (TOMLKit, used before `TOMLParser`) aborted the process, found by
/// FuzzTOML: an error with a position, never a crash.
@Suite struct TOMLAbortRegressionTests {
    @Test(arguments: [
        "[[=\n", "[\nx = 1\n", "a = 1979-05-27T\u{1d}07:32:00Z\n", "[.]\n", "[ # x\n", "a = \"\u{0}\"\n", "[}\n", "[{a=1}]\n", "[]\n",
    ])
    func malformedInputIsAnErrorNotACrash(_ text: String) {
        #expect(throws: TOMLSyntaxError.self) { _ = try TOMLReader.parse(text) }
    }

    @Test func validDocumentsStillParse() throws {
        let node = try TOMLReader.parse(
            "[server]\nlisten = \"127.0.0.1:8080\"\n[[route]]\npath = \"/x\"\nkeys = [\n  [1, 2],\n  {a = 1},\n  [],\n]\n")
        #expect(node["server"] != nil)
    }
}

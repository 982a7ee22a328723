import Foundation
import Testing

@testable import SessionGateCore

/// Differential tests: TOMLParser against Python's `tomllib` (a TOML 1.0.0 parser from the standard
/// library, python3 >= 3.11), on every file of `Fuzz/corpus/FuzzTOML`, on the spec snippets in
/// `TOMLDifferentialSnippets`, and on mutations of those (each truncated, and with one character removed,
/// at every position). Both must accept or refuse each document, and accepted documents must give
/// the same tree (same keys in the same order, same types and values). One python process does all.
///
/// Serialized: each test waits for its python process synchronously, which holds a thread of the
/// shared test thread pool (two on this machine); one at a time leaves the other to the rest of
/// the suite, whose timeouts would otherwise fire late.
@Suite(.serialized) struct TOMLParserConformanceTests {
    /// Where the two parsers are known to disagree on purpose; each entry is checked to still
    /// disagree in the stated way, so the list cannot go stale.
    static let deliberateDifferences: [(text: String, reason: String)] = [
        ("t = 23:59:60\n", "leap second: TOML (RFC 3339) allows second 60, Python's datetime.time refuses it"),
        ("t = 1990-12-31T23:59:60Z\n", "leap second in a date-time, refused by Python's datetime"),
        ("d = 0000-01-01\n", "year 0000 is a valid TOML date-fullyear (4DIGIT); Python's datetime starts at year 1"),
    ]

    @Test func corpusFilesAgreeWithTomllib() async throws {
        let corpus = Self.repositoryRoot.appendingPathComponent("Fuzz/corpus/FuzzTOML")
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
        try #require(names.count >= 20, "the FuzzTOML corpus is missing")
        let documents = try names.map { name in
            let bytes = try [UInt8](Data(contentsOf: corpus.appendingPathComponent(name)))
            return TOMLDifferentialDocument(name: name, bytes: bytes)
        }
        let (mismatches, accepted, refused) = try await Self.compare(documents)
        print("TOML differential: \(documents.count) corpus files, \(accepted) accepted and \(refused) refused by both")
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(documents.count) disagree:\n\(mismatches.joined(separator: "\n"))")
    }

    @Test func specSnippetsAgreeWithTomllib() async throws {
        let documents = TOMLDifferentialSnippets.all.map { TOMLDifferentialDocument(name: $0.name, text: $0.text) }
        let (mismatches, accepted, refused) = try await Self.compare(documents)
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(documents.count) disagree:\n\(mismatches.joined(separator: "\n"))")
        #expect(accepted > 100 && refused > 100, "accepted \(accepted), refused \(refused) of \(documents.count)")
        print("TOML differential: \(documents.count) snippets, \(accepted) accepted and \(refused) refused by both")
    }

    /// Every prefix and every one-character deletion of every snippet: a cheap mutation fuzzer
    /// whose oracle is tomllib.
    @Test func mutatedSnippetsAgreeWithTomllib() async throws {
        var documents: [TOMLDifferentialDocument] = []
        var seen = Set<String>()
        for snippet in TOMLDifferentialSnippets.all {
            let scalars = Array(snippet.text.unicodeScalars)
            for cut in 0..<scalars.count {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[..<cut])
                let prefix = String(view)
                view.append(contentsOf: scalars[(cut + 1)...])
                for text in [prefix, String(view)] where seen.insert(text).inserted {
                    documents.append(TOMLDifferentialDocument(name: "\(snippet.name) mutation \(documents.count)", text: text))
                }
            }
        }
        let (mismatches, accepted, refused) = try await Self.compare(documents)
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(documents.count) disagree:\n\(mismatches.prefix(40).joined(separator: "\n"))")
        // Both outcomes must be well represented, or the comparison proves little.
        #expect(accepted > 1000 && refused > 1000, "accepted \(accepted), refused \(refused) of \(documents.count)")
        print("TOML differential: \(documents.count) mutations, \(accepted) accepted and \(refused) refused by both")
    }

    /// Random sequences of TOML fragments, and random lines over a few shared names (deterministic).
    @Test func randomFragmentDocumentsAgreeWithTomllib() async throws {
        var generator = TOMLFragmentGenerator(seed: 1_000_003)
        // Kept small: FuzzTOML explores far more in the test run; this pins agreement with tomllib.
        var documents = (0..<3_000).map { TOMLDifferentialDocument(name: "fragments \($0)", text: generator.document()) }
        documents += (0..<3_000).map { TOMLDifferentialDocument(name: "lines \($0)", text: generator.structuredDocument()) }
        let (mismatches, accepted, refused) = try await Self.compare(documents)
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(documents.count) disagree:\n\(mismatches.prefix(40).joined(separator: "\n"))")
        #expect(accepted > 100 && refused > 1000, "accepted \(accepted), refused \(refused) of \(documents.count)")
        print("TOML differential: \(documents.count) random documents, \(accepted) accepted and \(refused) refused by both")
    }

    /// The comparison is only as good as the rendering: both sides must render a known document
    /// to the same, non-trivial text.
    @Test func bothSidesRenderTheCanonicalForm() async throws {
        let document = TOMLDifferentialDocument(name: "canonical", text: "a = 1.5\nb = 'x'\n[c]\nd = [1, 1979-05-27, nan]")
        let expected = "{k61=f4609434218613702656,k62=s78,k63={k64=[i1,odate,fnan]}}"
        #expect(try await Self.runTomllib([document]) == ["OK " + expected])
        #expect(Self.canonical(document) == expected)
    }

    @Test func deliberateDifferencesStillDiffer() async throws {
        let documents = Self.deliberateDifferences.map { TOMLDifferentialDocument(name: $0.reason, text: $0.text) }
        let results = try await Self.runTomllib(documents)
        for (document, python) in zip(documents, results) {
            #expect(python.hasPrefix("ERR "), "tomllib now accepts: \(document.name)")
            #expect(Self.canonical(document) != nil, "TOMLParser refuses: \(document.name)")
        }
    }

    // MARK: - Comparison

    /// Runs both parsers on every document and returns the disagreements, and how many documents both accepted and both refused.
    /// `compareBlocking` on a Dispatch thread: waiting for python must not hold a thread of the
    /// Swift concurrency pool, which the other tests' timeouts and store calls run on.
    static func compare(_ documents: [TOMLDifferentialDocument]) async throws -> (mismatches: [String], accepted: Int, refused: Int) {
        try await offPool { try compareBlocking(documents) }
    }

    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    static func compareBlocking(_ documents: [TOMLDifferentialDocument]) throws -> (mismatches: [String], accepted: Int, refused: Int) {
        let known = Set(deliberateDifferences.map(\.text))
        let results = try runTomllibBlocking(documents)
        try #require(results.count == documents.count, "python printed \(results.count) results for \(documents.count) documents")
        var mismatches: [String] = []
        var accepted = 0
        var refused = 0
        for (document, python) in zip(documents, results) {
            if let text = document.text, known.contains(text) { continue }
            let ours = canonical(document)
            let pythonTree = python.hasPrefix("OK ") ? String(python.dropFirst(3)) : nil
            switch (ours, pythonTree) {
            case (nil, nil):
                refused += 1
            case (let ours?, let theirs?) where ours == theirs:
                accepted += 1
            case (let ours?, let theirs?):
                mismatches.append(
                    "\(document.name): different values\n  ours:    \(ours)\n  tomllib: \(theirs)\n  input: \(document.shown)")
            case (.some, nil):
                mismatches.append("\(document.name): accepted, tomllib says \(python)\n  input: \(document.shown)")
            case (nil, .some):
                mismatches.append("\(document.name): refused (\(ourError(document))), tomllib accepts\n  input: \(document.shown)")
            }
        }
        return (mismatches, accepted, refused)
    }

    /// Our tree in the canonical form, or nil when refused (or not UTF-8, which tomllib refuses too).
    static func canonical(_ document: TOMLDifferentialDocument) -> String? {
        guard let text = document.text, let node = try? TOMLParser.parse(text) else { return nil }
        var out = ""
        render(node, into: &out)
        return out
    }

    static func ourError(_ document: TOMLDifferentialDocument) -> String {
        guard let text = document.text else { return "not UTF-8" }
        do {
            _ = try TOMLParser.parse(text)
            return "accepted"
        } catch {
            return error.description
        }
    }

    /// The same rendering the python script does: strings and keys as hex of their UTF-8 bytes,
    /// floats as their IEEE bit pattern (every NaN alike), integers in decimal.
    static func render(_ node: ConfigNode, into out: inout String) {
        switch node {
        case .string(let text): out += "s" + hex(text)
        case .integer(let value): out += "i\(value)"
        case .double(let value): out += value.isNaN ? "fnan" : "f\(Int64(bitPattern: value.bitPattern))"
        case .bool(let value): out += "b\(value)"
        case .other(let kind): out += "o\(kind)"
        case .array(let elements):
            out += "["
            for (position, element) in elements.enumerated() {
                if position > 0 { out += "," }
                render(element, into: &out)
            }
            out += "]"
        case .table(let entries):
            out += "{"
            for (position, entry) in entries.enumerated() {
                if position > 0 { out += "," }
                out += "k" + hex(entry.key) + "="
                render(entry.value, into: &out)
            }
            out += "}"
        }
    }

    static func hex(_ text: String) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        for byte in text.utf8 {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }

    // MARK: - Running tomllib

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Integers outside 64 bits are turned into errors here: TOML 1.0 requires an error for them,
    /// tomllib returns Python's unbounded ints.
    static let script = #"""
        import datetime, math, struct, sys, tomllib

        def render(value):
            if isinstance(value, bool):
                return "b" + ("true" if value else "false")
            if isinstance(value, int):
                if not -2**63 <= value < 2**63:
                    raise OverflowError("integer out of 64-bit range")
                return "i" + str(value)
            if isinstance(value, float):
                if math.isnan(value):
                    return "fnan"
                return "f" + str(struct.unpack("<q", struct.pack("<d", value))[0])
            if isinstance(value, str):
                return "s" + value.encode("utf-8").hex()
            if isinstance(value, datetime.datetime):
                return "odate-time"
            if isinstance(value, datetime.date):
                return "odate"
            if isinstance(value, datetime.time):
                return "otime"
            if isinstance(value, list):
                return "[" + ",".join(render(item) for item in value) + "]"
            if isinstance(value, dict):
                return "{" + ",".join("k" + key.encode("utf-8").hex() + "=" + render(item) for key, item in value.items()) + "}"
            raise TypeError(type(value).__name__)

        out = []
        for line in sys.stdin.buffer.read().decode("ascii").splitlines():
            data = bytes.fromhex(line)
            try:
                out.append("OK " + render(tomllib.loads(data.decode("utf-8"))))
            except Exception as error:
                out.append("ERR " + (type(error).__name__ + ": " + str(error)).replace("\n", " "))
        sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8"))
        """#

    /// One `OK ...` / `ERR ...` line per document, in order.
    static func runTomllib(_ documents: [TOMLDifferentialDocument]) async throws -> [String] {
        try await offPool { try runTomllibBlocking(documents) }
    }

    static func runTomllibBlocking(_ documents: [TOMLDifferentialDocument]) throws -> [String] {
        var request = ""
        for document in documents { request += hex(bytes: document.bytes) + "\n" }
        let run = try runPython3(["-c", script], input: Data(request.utf8))
        try #require(run.status == 0, "python3 failed: \(run.stderr)")
        return String(decoding: run.stdout, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }

    static func hex(bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }
}

/// A document for the differential test: its bytes, and its text when the bytes are UTF-8.
struct TOMLDifferentialDocument: Sendable {
    let name: String
    let bytes: [UInt8]
    let text: String?

    init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
        text = String(validating: bytes, as: UTF8.self)
    }

    init(name: String, text: String) {
        self.name = name
        bytes = Array(text.utf8)
        self.text = text
    }

    /// The input for a failure message, escaped so control characters are visible.
    var shown: String {
        guard let text else { return "(\(bytes.count) bytes, not UTF-8)" }
        let escaped = text.unicodeScalars.map { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
        }.joined()
        return escaped.count > 300 ? String(escaped.prefix(300)) + "..." : escaped
    }
}

/// Documents for the differential test: the spec's examples and short edge cases, valid and
/// invalid (tomllib decides which).
enum TOMLDifferentialSnippets {
    static var all: [(name: String, text: String)] {
        TOMLSpecText.all + edgeCases.map { (name: "edge case \($0.debugDescription)", text: $0) }
    }

    static let edgeCases: [String] = keys + strings + numbers + dates + arrays + inlineTables + tables + documents

    static let keys = [
        "a = 1", "a.b.c = 1", "a . b\t.\tc = 1", "\"a.b\" = 1", "'a' = 1\n\"a\" = 2", "a = 1\nA = 2", "-_- = 1",
        "1.2 = 3", "a.\"\".b = 1", "\"\\u0041\" = 1\nA = 2", "a=1", "a\t=\t1", "a\n= 1", "a =\n1", "a = \n", "é = 1",
        "a b = 1", "a. = 1", ".a = 1", "a..b = 1", "\"\"\"a\"\"\" = 1", "'''a''' = 1", "\"a\u{1}\" = 1", "'a\tb' = 1",
        "\"a\nb\" = 1", "a.\"b\".'c' = 1\na.b.d = 2", "[a]\n\"\" = 1\n'' = 2", "=1", "a = 1\nb",
    ]

    static let strings = [
        "a = \"\\e\"", "a = \"\\x41\"", "a = \"\\u00E9\\U0001F600\"", "a = \"\\uD800\"", "a = \"\\uDFFF\"",
        "a = \"\\U00110000\"", "a = \"\\U0010FFFF\"", "a = \"\\u12\"", "a = \"\\u12G4\"", "a = \"\\ \"", "a = \"\\\"",
        "a = \"\\b\\t\\n\\f\\r\\\"\\\\\"", "a = \"\"\"\nx\\  \n  y\"\"\"", "a = \"\"\"x\\ y\"\"\"", "a = \"\"\"\\\n\"\"\"",
        "a = \"\"\"a\"\"\"\"\"", "a = \"\"\"a\"\"\"\"\"\"", "a = \"\"\"a\"\"\"\"", "a = '''a''''", "a = '''a'''''",
        "a = '''a''''''", "a = ''''''''", "a = \"\"\"\"\"\"", "a = \"\"\"\"\"\"\"", "a = \"\"\"\r\nx\r\ny\"\"\"",
        "a = \"\"\"x\ry\"\"\"", "a = '''x\ry'''", "a = 'a\\b'", "a = \"unterminated", "a = 'unterminated",
        "a = \"\"\"unterminated", "a = '''unterminated\n", "a = \"\"\"\n\n\"\"\"", "a = \"\"\"\\\r\n  x\"\"\"",
        "a = \"\"\"\\\t \n\n  x\"\"\"", "a = \"\u{7F}\"", "a = \"\t\"", "a = 'x\u{1}'", "a = '''\u{7F}'''",
        "a = \"\"\"\u{0}\"\"\"", "a = \"\"\"\t\"\"\"", "a = \"x\"\"y\"", "a = 'x' 'y'", "a = \"é\u{1F600}\"",
        "a = \"\"\"\n\\\"\"\"\"\"", "a = \"\"\"a\\\"\"\"", "a = '\\'", "a = '''\n'''", "a = '''\r\n'''",
        "a = \"\"\"\\u0041\\\n\"\"\"", "a = \"\\U0001F600\"", "a = \"\\u0000\"",
    ]

    static let numbers = [
        "a = +99", "a = -0", "a = +0", "a = 00", "a = 01", "a = 0_1", "a = 1__2", "a = 1_", "a = _1",
        "a = 9223372036854775807", "a = 9223372036854775808", "a = -9223372036854775808", "a = -9223372036854775809",
        "a = 99999999999999999999", "a = 0x7FFFFFFFFFFFFFFF", "a = 0x8000000000000000", "a = 0xDEAD_beef",
        "a = 0x_1", "a = 0x1_", "a = 0X1", "a = +0x1", "a = -0x1", "a = 0o8", "a = 0o17", "a = 0o777777777777777777777",
        "a = 0b102", "a = 0b", "a = 0x", "a = 0b1111111111111111111111111111111111111111111111111111111111111111",
        "a = 0x00000000000000000001", "a = 1.0", "a = 1.", "a = .1", "a = 1e5", "a = 1E5", "a = 1e+5", "a = 1e-5",
        "a = 1e", "a = 1e+", "a = 1e_5", "a = 1_e5", "a = 1.5_e5", "a = 1.e5", "a = 0.0", "a = -0.0", "a = 00.1",
        "a = 0e0", "a = 01e1", "a = 1e01", "a = 1.0e1_0", "a = inf", "a = +inf", "a = -inf", "a = nan", "a = -nan",
        "a = +nan", "a = infinity", "a = Inf", "a = NaN", "a = 1e400", "a = -1e400", "a = 4.9e-324", "a = 2.5e-324",
        "a = 1e-400", "a = 0.1", "a = 123456789.123456789e10", "a = 1_000.000_1", "a = 1.0_", "a = 1__0.0",
        "a = 3.14159265358979323846264338327950288", "a = 1.7976931348623157e308", "a = 1.7976931348623159e308",
        "a = 1e1e1", "a = 1.2.3", "a = 1-2", "a = 1+2", "a = +", "a = -", "a = +-1", "a = 0.1e", "a = --1",
        "a = true", "a = false", "a = True", "a = tru", "a = truee", "a = true1", "a = falsey", "a = no", "a = yes",
        "a = 0_0", "a = -_1", "a = 1_000_", "a = 0b1_0", "a = 0o_7", "a = 0x1.5", "a = 0xe5", "a = 1e5.5",
    ]

    static let dates = [
        "a = 1979-05-27", "a = 1979-05-27T07:32:00Z", "a = 1979-05-27t07:32:00z", "a = 1979-05-27 07:32:00",
        "a = 1979-05-27T07:32:00.5+01:30", "a = 1979-05-27T07:32:00-00:00", "a = 1979-05-27T07:32",
        "a = 1979-05-27T07:32Z", "a = 07:32", "a = 07:32:00", "a = 07:32:00.123456789", "a = 07:32:00.",
        "a = 24:00:00", "a = 23:60:00", "a = 23:59:61", "a = 2000-02-29", "a = 1900-02-29", "a = 2001-02-29",
        "a = 2024-02-29", "a = 2024-02-30", "a = 2024-04-31", "a = 2024-12-31", "a = 2024-13-01", "a = 2024-00-01",
        "a = 2024-01-00", "a = 2024-01-32", "a = 2024-1-01", "a = 979-05-27", "a = 19790-05-27",
        "a = 1979-05-27T07:32:00+24:00", "a = 1979-05-27T07:32:00+23:59", "a = 1979-05-27T07:32:00+01:60",
        "a = 1979-05-27T07:32:00+0100", "a = 1979-05-27T07:32:00+01", "a = 1979-05-27 # date", "a = 1979-05-27 07",
        "a = [1979-05-27 , 07:32:00]", "a = 1979-05-27T07:32:00Z1", "a = 07:32:00Z", "a = 07:32:00+01:00",
        "a = 1979-05-27_07:32:00", "a = 1979-05-27T07:32:00.Z", "a = 1979-05-27T", "a = 1979-05-27  07:32:00",
        "a = 1979-05-27T7:32:00", "a = 1979-05-27T07:32:00.1234567891234", "a = 1979-05-27T07:32:00 Z",
        "a = 1979-05-27T07:32:00z", "a = 0001-01-01", "a = 9999-12-31T23:59:59.999999Z", "a = {d = 1979-05-27}",
        "a = 1979-05-27T07:32:00.999999-07:00 # c", "a = 07:32:00 # time", "a = 1979-05-27T07:32:00-07:00x",
    ]

    static let arrays = [
        "a = []", "a = [ ]", "a = [,]", "a = [1,]", "a = [1,,]", "a = [1 2]", "a = [\n1,\n2,\n]",
        "a = [ # c\n 1 # c\n , # c\n 2 ]", "a = [1, 'a', 1.5, true, [], {}]", "a = [", "a = [1", "a = [1,", "a = ]",
        "a = [[]]", "a = [[1], [2, [3]]]", "a = [{}, {b = 1}]", "a = [1\n,2]", "a = [\r\n1\r\n]", "a = [\r1]",
        "a = [ # \u{1} \n]", "a = [\n# only a comment\n]", "a = [1,\n\n\n]", "a = [1]]", "a = [[1]", "a = [1] 2",
        "a = [\"\"\"x\ny\"\"\", '''\n''']", "a = [ [ ] , [ [ ] ] , ]",
    ]

    static let inlineTables = [
        "a = {}", "a = { }", "a = {b = 1}", "a = {b = 1,}", "a = {b = 1, b = 2}", "a = {b.c = 1, b.d = 2}",
        "a = {b = {c = 1}, b.d = 2}", "a = {b.c = 1, b = 2}", "a = {b.c = 1, b.c.d = 2}", "a = {\nb = 1}",
        "a = {b = 1\n}", "a = {b = [\n1,\n2]}", "a = {b = \"\"\"x\ny\"\"\"}", "a = {b = 1 c = 2}", "a = {,}",
        "a = {b = 1,, c = 2}", "a = {b=1}\na.c = 2", "a = {b=1}\n[a]", "a = {b=1}\n[a.c]", "a = {b=1}\n[[a]]",
        "a = {b = 1} # c", "a = {b = 1 # c\n}", "a = {b}", "a = {=1}", "a = {b = 1}\n[a.b]", "a = { b = { c = { d = 1 } } }",
        "a = {\"b.c\" = 1, 'b' = {}}", "a = {b = []}\n[[a.b]]", "a = [{b = 1}]\na.c = 2", "a = {b.c = {}, b.c.d = 1}",
        "a = {\tb\t=\t1\t}", "a = { b = 1 }x",
    ]

    static let tables = [
        "[a]", "[ a ]", "[\ta\t]", "[a.b]\n[a]", "[a]\n[a.b]\n[a]", "[a]\n[a]", "[a.b]\n[a.b]", "[]", "[a", "[a]b=1",
        "[a] # c", "[a]]", "[[a]", "[[a]]", "[[a] ]", "[ [a]]", "[[ a ]]", "[[a]]\n[[a]]", "[[a]]\n[a]", "[a]\n[[a]]",
        "[[a]]\n[a.b]\nc=1\n[[a]]\n[a.b]\nc=2", "[[a.b]]\n[a]", "[[a.b]]\n[[a]]", "[a.b.c]\n[a]\nb.d = 1",
        "[a.b.c]\nz=1\n[a]\nb.c.t=1", "[a.b.c.d]\nz=9\n[a]\nb.c.d.k.t=1", "a.b = 1\n[a]", "a.b = 1\n[a.c]",
        "a.b.c = 1\n[a.b]", "[a]\nb.c = 1\n[a.b.d]", "[a]\nb.c = 1\n[a]\nb.d = 2", "[a]\nb.c = 1\n[x]\n[a.b]",
        "a = 1\n[a]", "a = 1\n[a.b]", "a = []\n[[a]]", "a = [{b=1}]\n[[a]]", "a = [{b=1}]\n[a.c]", "[a]\nb=1\n[a.b]",
        "[a.b]\nc=1\n[a]\nb=2", "[a.b]\nc=1\n[a]\nb.d=2", "[[a]]\nb.c=1\n[[a]]\nb.c=2", "[[x.a]]\n[x]\na.b = 1",
        "['a'.\"b\"]", "[a.\"b.c\"]", "[a]\n[\"a\"]", "[\"\"]", "[a.'']", "a.b.c = 1\na.b.d = 2\na.e = 3",
        "a.b = 1\nb.c = 2\na.d = 3", "[x]\na.b = 1\n[y]\n[x.a.c]", "[x]\na.b = 1\n[x.a]", "[a.b]\n[a.b.c]\n[a]\n[a.c]",
        "[[a]]\n[[a.b]]\n[a.b.c]\n[[a.b]]\n[a.b.c]", "[a]\n[[a.b]]\n[a.b]", "[a]\nx=1\n[[a.b]]\nx=2\n[a.c]",
        "[a.b]\n[[a.b.c]]\n[a]\nb.c = 1", "[[a]]\n[[a]]\n[a.b]\n[[a]]\n[a.b]", "[a]\n[a.b]\n[a.b.c]\n[a.b]",
        "[a.b.c]\n[a.b]\n[a.b.c.d]\n[a.b.c]", "[ a.b ]\n[a . b . c]", "[\"a]\"]", "[a#b]", "[a]#\n[b]#c",
        "[a]\u{1}", "[ a . \"b\" ]\nc = 1", "[[a]]\n[[a.b]]\n[[a]]\nb = 1", "[a.b]\n[a]\nb.c = 1",
    ]

    static let documents = [
        "", "\n", "   ", "#", "# only", "a = 1\n\n\n", "a = 1 b = 2", "\u{FEFF}a = 1", "a = 1\r\nb = 2\r\n",
        "a = 1\rb = 2", "a = 1\r", "# comment\u{7F}", "# comment\u{0}", "#\t tab ok", "a = 1 #\u{0}", "a = 1\u{0}",
        "a = 1 # ü", "\t\ta = 1\t\t# c\t", "a = 1\n  [b]\n  c = 2", "a = 1\r\n[b]\r\nc = \"\"\"x\r\ny\"\"\"\r\n",
        "a = 1\n#\r\n", "a = \"x\"\n#\u{7F}", "[a]\nb = 1\n[c]\nd = 2\n[a.e]\nf = 3",
        "[server]\nlisten = \"127.0.0.1:8080\"\nvia = = true\n",
    ]
}

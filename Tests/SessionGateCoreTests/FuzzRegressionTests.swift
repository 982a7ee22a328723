import Testing

@testable import SessionGateCore

/// Inputs the libFuzzer targets in `Fuzz/` (run by `scripts/fuzz.sh`) found to break a property,
/// kept as ordinary tests so a fixed bug stays fixed without a fuzz build. Each test names the fuzz
/// target and the property; the crashing input is also in `Fuzz/corpus/<target>/`.
@Suite struct FuzzRegressionTests {
    /// FuzzConfig and FuzzTOML, "every issue has a non-empty key": an unknown top-level key spelled
    /// as the empty string (valid TOML: `"" = 1`) was reported under the key "".
    @Test func unknownEmptyTopLevelKeyIsReportedUnderANonEmptyKey() throws {
        let document = ConfigNode.table([(key: "", value: .integer(1))])
        let result = ConfigLoader.load(document, environment: [:], configDirectory: "/etc/sessiongate")
        guard case .failure(let errors) = result else {
            Issue.record("a document with an unknown key was accepted")
            return
        }
        #expect(!errors.issues.isEmpty)
        for issue in errors.issues {
            #expect(!issue.key.isEmpty, "issue without a key: \(issue.message)")
        }
    }

    /// The same for empty keys inside sections: the issue names the section, not a bare dot.
    @Test(arguments: ["server", "cookie", "store", "signing", "log", "routes"])
    func unknownEmptyKeyInASectionNamesTheSection(section: String) throws {
        let document = ConfigNode.table([(key: section, value: .table([(key: "", value: .integer(1))]))])
        let result = ConfigLoader.load(document, environment: [:], configDirectory: "/etc/sessiongate")
        guard case .failure(let errors) = result else {
            Issue.record("a document with an unknown key was accepted")
            return
        }
        let unknown = try #require(errors.issues.first { $0.message.hasPrefix("unknown key") })
        #expect(unknown.key.hasPrefix(section))
    }
}

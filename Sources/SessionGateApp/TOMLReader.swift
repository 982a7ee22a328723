import SessionGateCore

/// Reads a TOML configuration file's text into the format-neutral `ConfigNode` tree, with
/// syntax errors at their line and column (`TOMLParser`, pure Swift, in the core).
public enum TOMLReader {
    public static func parse(_ text: String) throws(TOMLSyntaxError) -> ConfigNode {
        try TOMLParser.parse(text)
    }
}

/// `${NAME}` substitution from the environment in configuration strings. `$$` is a literal `$`;
/// any other `$` is kept as written.
public enum EnvInterpolation {
    /// Why a string could not be interpolated. Carries variable names only, never values.
    public enum Failure: Error, Sendable, Equatable {
        /// `${NAME}` where NAME is not set.
        case missingVariables([String])
        /// `${` without a closing `}` or with a name that is not `[A-Za-z_][A-Za-z0-9_]*`.
        case malformedReference(String)
    }

    /// Whether `text` contains anything the interpolation would change.
    public static func hasReferences(_ text: String) -> Bool { text.contains("$") }

    public static func interpolate(_ text: String, environment: [String: String]) -> Result<String, Failure> {
        guard text.contains("$") else { return .success(text) }
        var out = ""
        var missing: [String] = []
        var index = text.startIndex
        while index < text.endIndex {
            let char = text[index]
            let next = text.index(after: index)
            guard char == "$", next < text.endIndex else {
                out.append(char)
                index = next
                continue
            }
            if text[next] == "$" {
                out.append("$")
                index = text.index(after: next)
            } else if text[next] == "{" {
                let nameStart = text.index(after: next)
                guard let close = text[nameStart...].firstIndex(of: "}") else {
                    return .failure(.malformedReference("\"${\" has no closing \"}\""))
                }
                let name = String(text[nameStart..<close])
                guard isValidName(name) else {
                    return .failure(
                        .malformedReference(
                            "\"${\(name)}\" is not a variable reference (names are letters, digits and \"_\"; write \"$$\" for a literal \"$\")"
                        ))
                }
                if let value = environment[name] {
                    out += value
                } else if !missing.contains(name) {
                    missing.append(name)
                }
                index = text.index(after: close)
            } else {
                out.append(char)
                index = next
            }
        }
        return missing.isEmpty ? .success(out) : .failure(.missingVariables(missing))
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic)
        else { return false }
        return name.unicodeScalars.allSatisfy {
            $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
        }
    }
}

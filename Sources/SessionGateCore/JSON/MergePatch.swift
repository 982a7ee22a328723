/// RFC 7396 JSON Merge Patch.
public enum MergePatch {
    /// Applies `patch` to `target` exactly as RFC 7396 §2 defines: an object patch merges member
    /// by member (a `null` member removes the key; a non-object target is replaced by `{}` first);
    /// any other patch, `null` included, replaces the target whole.
    public static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (name, value) in patchMembers {
            if value == .null {
                result.removeValue(forKey: name)
            } else {
                result[name] = apply(value, to: result[name] ?? .null)
            }
        }
        return .object(result)
    }
}

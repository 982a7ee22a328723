import SessionGateCore

extension SessionPolicy {
    /// How the merge patch `members` changes the user: nil when it leaves `userKey` alone,
    /// `.some(nil)` when it removes the user (or sets something that names none), else the new
    /// user. A merge replaces `data[userKey]` with the patch's value (merged into `{}` when an
    /// object), so the patch alone says it.
    func userChange(in members: [String: JSONValue]) -> String?? {
        members[userKey].map { userID(of: [userKey: $0]) }
    }
}

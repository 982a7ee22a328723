/// `[session] max_data_bytes`: the most bytes a session object may take, measured as its compact
/// JSON (`JSONSerializer.serialize(.object(data))`, the form the stores keep and the token carries).
///
/// The data plane (or a store that applies patches itself) checks the object a response's
/// `X-Session-Set` patches would produce; when it is too large, the response's directives are
/// malformed: nothing applies, the client gets 502, and `DirectiveError` says why.
public struct SessionDataLimit: Sendable, Equatable {
    /// The limit in bytes; 0 = unlimited.
    public var maxBytes: Int

    public init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    /// The limit `[session]` configures.
    public init(session: ProxyConfig.Session) {
        self.init(maxBytes: session.maxDataBytes)
    }

    /// The session object's size as compact JSON.
    public static func serializedSize(_ data: [String: JSONValue]) -> Int {
        JSONSerializer.serialize(.object(data)).count
    }

    /// Whether `data` fits (always, when the limit is 0).
    public func allows(_ data: [String: JSONValue]) -> Bool {
        maxBytes == 0 || Self.serializedSize(data) <= maxBytes
    }

    /// Applies `patches` (RFC 7396, in order, as `SessionDirectives.patches` holds them) to `data`
    /// and checks the result. Returns the new object, `.success(nil)` when a `null` patch ends the
    /// session (later patches start a new object), or the error to report when the result would
    /// be larger than the limit. Nothing is applied anywhere: this is a pure computation.
    public func applying(
        _ patches: [JSONValue], to data: [String: JSONValue]?
    ) -> Result<[String: JSONValue]?, DirectiveError> {
        var current: [String: JSONValue]? = data
        for (index, patch) in patches.enumerated() {
            guard case .object = patch else {
                current = nil  // `null` destroys the session
                continue
            }
            let merged = MergePatch.apply(patch, to: .object(current ?? [:])).objectValue ?? [:]
            if maxBytes > 0 {
                let size = Self.serializedSize(merged)
                if size > maxBytes {
                    return .failure(
                        DirectiveError(
                            header: "X-Session-Set", position: index,
                            reason:
                                "would make the session \(size) bytes of JSON; [session] max_data_bytes is \(maxBytes)"))
                }
            }
            current = merged
        }
        return .success(current)
    }
}

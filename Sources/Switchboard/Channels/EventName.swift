/// Bounds on event names and event patterns (they are matched per message, so they are kept short).
public enum EventName {
    /// Longest accepted event name or pattern, in UTF-8 bytes.
    public static let maxBytes = 1024

    /// The field problem for an event or pattern over the limit.
    public static let tooLong = "too long (at most \(maxBytes) bytes)"

    /// The pattern a subscription means: a missing, `null` or empty event is `*`.
    public static func pattern(_ event: String?) -> String {
        guard let event, !event.isEmpty else { return "*" }
        return event
    }
}

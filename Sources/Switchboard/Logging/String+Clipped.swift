extension String {
    /// Most bytes of a client-chosen string (a channel name, an origin, a method) that go into a
    /// log line or an error message.
    public static let clipLimit = 100

    /// The string as logs and refusals show text a client chose: whole when it is short, else its
    /// first `clipLimit` bytes (never cutting a character) with `…` and its length in bytes, so
    /// that a client sending megabyte names cannot fill the log.
    public var clippedForLog: String {
        let count = utf8.count
        guard count > Self.clipLimit else { return self }
        var end = utf8.index(utf8.startIndex, offsetBy: Self.clipLimit)
        while end > startIndex, end.samePosition(in: unicodeScalars) == nil { end = utf8.index(before: end) }
        return "\(self[..<end])… (\(count) bytes)"
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes are exactly `name`'s UTF-8: for short names (JSON keys, a Redis
    /// push's kind), where a plain loop beats a generic sequence comparison or a call.
    @inline(__always)
    package func equals(_ name: StaticString) -> Bool {
        guard count == name.utf8CodeUnitCount else { return false }
        let expected = name.utf8Start
        for index in 0..<count where self[index] != expected[index] { return false }
        return true
    }
}

/// An object member's key as `JSONParser.forEachMember` reads it: its bytes in the text (between
/// the quotes, validated), matched against names without making a `String`. A key written with
/// escapes (`"d\u0061ta"`) is decoded to be matched, so it matches what it means.
///
/// Valid only inside the member visitor: it points into the text being read.
struct JSONKey: CustomStringConvertible {
    /// The key's bytes between its quotes, as written.
    let raw: UnsafeRawBufferPointer
    /// `true` when the key holds a backslash escape (then `raw` is not its value).
    let escaped: Bool

    /// The key's value.
    var string: String {
        guard escaped else { return String(decoding: raw, as: UTF8.self) }
        // Validated with the object, so the decoding cannot fail; "" stands in if it ever did.
        let quoted = UnsafeRawBufferPointer(start: raw.baseAddress.map { $0 - 1 }, count: raw.count + 2)
        var parser = JSONParser(quoted, maxDepth: 1)
        return (try? parser.parseString()) ?? ""
    }

    var description: String { string }

    /// Whether the key is `name`: a `switch` on a key takes names as its cases.
    @inline(__always)
    static func ~= (name: StaticString, key: JSONKey) -> Bool {
        key.escaped ? key.string == name.description : key.raw.equals(name)
    }
}

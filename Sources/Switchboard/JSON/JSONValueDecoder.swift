/// Decodes `Decodable` types from a `JSONValue`, reporting every failing field at once.
///
/// A missing field is "required", a value of the wrong type "not valid type"; fields are named
/// by their path (`address.city`, `items.2`). Decoding goes on after a problem, so a payload with
/// three bad fields gets one reply naming all three. Numbers decode exactly into any integer
/// type (out of range is "not valid type"), `JSONValue`, `JSONObject` and `JSONNumber` decode
/// as they are.
public struct JSONValueDecoder {
    public init() {}

    /// Decodes `type` from `value`; throws `RPCError.invalidParameters` listing every problem.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        let session = DecodingSession()
        let decoder = ValueDecoder(value: value, path: [], session: session)
        let result: T
        do {
            result = try decoder.decode(T.self)
        } catch let error as DecodingError {
            session.record(error)
            throw RPCError.invalidParameters(session.problems)
        }
        if !session.problems.isEmpty { throw RPCError.invalidParameters(session.problems) }
        return result
    }
}

private final class DecodingSession {
    var problems: [(field: String, problem: String)] = []
    var seen = Set<String>()

    func add(_ path: [any CodingKey], _ problem: String) {
        let field = path.isEmpty ? "payload" : path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        guard seen.insert(field).inserted else { return }
        problems.append((field, problem))
    }

    func record(_ error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context): add(context.codingPath + [key], FieldProblem.required)
        case .typeMismatch(_, let context): add(context.codingPath, FieldProblem.notValidType)
        case .valueNotFound(_, let context): add(context.codingPath, FieldProblem.notValidType)
        case .dataCorrupted(let context): add(context.codingPath, "not a valid value")
        @unknown default: add([], "not valid")
        }
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String { String(intValue!) }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

/// Decodes from one value; `value == nil` means a placeholder: every read returns a default
/// without recording anything (used to keep going after a problem).
private struct ValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: JSONValue?
    let codingPath: [any CodingKey]
    let session: DecodingSession
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: JSONValue?, path: [any CodingKey], session: DecodingSession) {
        self.value = value
        self.codingPath = path
        self.session = session
    }

    var isPlaceholder: Bool { value == nil }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        switch value {
        case .object(let object)?:
            return KeyedDecodingContainer(KeyedContainer<Key>(object: object, path: codingPath, session: session, placeholder: false))
        case nil:
            return KeyedDecodingContainer(KeyedContainer<Key>(object: JSONObject(), path: codingPath, session: session, placeholder: true))
        default:
            session.add(codingPath, codingPath.isEmpty ? FieldProblem.expectedObject : FieldProblem.notValidType)
            return KeyedDecodingContainer(KeyedContainer<Key>(object: JSONObject(), path: codingPath, session: session, placeholder: true))
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let elements)?:
            return UnkeyedContainer(elements: elements, path: codingPath, session: session)
        case nil:
            return UnkeyedContainer(elements: [], path: codingPath, session: session)
        default:
            session.add(codingPath, FieldProblem.notValidType)
            return UnkeyedContainer(elements: [], path: codingPath, session: session)
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { value == nil || value == .null }

    private func mismatch<T>(_ fallback: T) -> T {
        if !isPlaceholder { session.add(codingPath, FieldProblem.notValidType) }
        return fallback
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        if case .bool(let b)? = value { return b }
        return mismatch(false)
    }

    func decode(_ type: String.Type) throws -> String {
        if case .string(let s)? = value { return s }
        return mismatch("")
    }

    func decode(_ type: Double.Type) throws -> Double {
        if case .number(let n)? = value, let d = n.doubleValue { return d }
        return mismatch(0)
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func integer<I: FixedWidthInteger>(_ type: I.Type) -> I {
        if case .number(let n)? = value, n.isInteger, let i = I(n.literal) { return i }
        return mismatch(0)
    }

    func decode(_ type: Int.Type) throws -> Int { integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSONValue.self { return (value ?? .null) as! T }
        if T.self == JSONObject.self {
            if case .object(let o)? = value { return o as! T }
            return mismatch(JSONObject()) as! T
        }
        if T.self == JSONNumber.self {
            if case .number(let n)? = value { return n as! T }
            return mismatch(JSONNumber(0)) as! T
        }
        return try T(from: self)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let codingPath: [any CodingKey]
    let session: DecodingSession
    let placeholder: Bool

    init(object: JSONObject, path: [any CodingKey], session: DecodingSession, placeholder: Bool) {
        self.object = object
        self.codingPath = path
        self.session = session
        self.placeholder = placeholder
    }

    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { object.contains(key: key.stringValue) }

    /// The decoder for `key`: the value, or a placeholder after recording "required".
    private func decoder(for key: Key) -> ValueDecoder {
        let path = codingPath + [key]
        if let value = object[key.stringValue] {
            return ValueDecoder(value: value, path: path, session: session)
        }
        if !placeholder { session.add(path, FieldProblem.required) }
        return ValueDecoder(value: nil, path: path, session: session)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let value = object[key.stringValue] else { return true }
        return value == .null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder(for: key).decode(T.self)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = object[key.stringValue], value != .null else { return nil }
        return try ValueDecoder(value: value, path: codingPath + [key], session: session).decode(T.self)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(for: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder(for: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: .object(object), path: codingPath, session: session)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        decoder(for: key)
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    let session: DecodingSession
    var currentIndex = 0

    init(elements: [JSONValue], path: [any CodingKey], session: DecodingSession) {
        self.elements = elements
        self.codingPath = path
        self.session = session
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() -> ValueDecoder {
        let path = codingPath + [IndexKey(currentIndex)]
        defer { currentIndex += 1 }
        guard currentIndex < elements.count else {
            session.add(path, FieldProblem.required)
            return ValueDecoder(value: nil, path: path, session: session)
        }
        return ValueDecoder(value: elements[currentIndex], path: path, session: session)
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < elements.count, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next().decode(T.self)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        next()
    }
}

/// Encodes `Encodable` values into a `JSONValue`. `JSONValue`, `JSONObject` and `JSONNumber`
/// encode as they are; keys keep the order the type encodes them in.
public struct JSONValueEncoder {
    public init() {}

    /// Encodes `value`.
    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let root = Box()
        try ValueEncoder(box: root, path: []).encodeValue(value)
        return root.value
    }
}

/// A slot that containers fill in; nested containers hold their parent's box.
private final class Box {
    var value: JSONValue = .null
    var members: JSONObject? = nil
    var elements: [Box]? = nil
    var children: [(String, Box)] = []

    /// Resolves nested boxes into the final value.
    func resolve() -> JSONValue {
        if members != nil {
            var object = JSONObject()
            for (key, child) in children { object[key] = child.resolve() }
            return .object(object)
        }
        if let elements { return .array(elements.map { $0.resolve() }) }
        return value
    }
}

private struct ValueEncoder: Encoder, SingleValueEncodingContainer {
    let box: Box
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(box: Box, path: [any CodingKey]) {
        self.box = box
        self.codingPath = path
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if box.members == nil {
            box.members = JSONObject()
            box.children = []
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if box.elements == nil { box.elements = [] }
        return UnkeyedContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeValue<T: Encodable>(_ value: T) throws {
        switch value {
        case let json as JSONValue: box.value = json
        case let object as JSONObject: box.value = .object(object)
        case let number as JSONNumber: box.value = .number(number)
        default: try value.encode(to: self)
        }
        let resolved = box.resolve()
        box.members = nil
        box.elements = nil
        box.children = []
        box.value = resolved
    }

    func encodeNil() throws { box.value = .null }
    func encode(_ value: Bool) throws { box.value = .bool(value) }
    func encode(_ value: String) throws { box.value = .string(value) }
    func encode(_ value: Double) throws { box.value = .number(JSONNumber(value)) }
    func encode(_ value: Float) throws { box.value = .number(JSONNumber(Double(value))) }
    func encode(_ value: Int) throws { box.value = .number(JSONNumber(value)) }
    func encode(_ value: Int8) throws { box.value = .number(JSONNumber(value)) }
    func encode(_ value: Int16) throws { box.value = .number(JSONNumber(value)) }
    func encode(_ value: Int32) throws { box.value = .number(JSONNumber(value)) }
    func encode(_ value: Int64) throws { box.value = .number(JSONNumber(value)) }
    func encode(_ value: UInt) throws { box.value = .number(JSONNumber(value)) }
    func encode(_ value: UInt8) throws { box.value = .number(JSONNumber(value)) }
    func encode(_ value: UInt16) throws { box.value = .number(JSONNumber(value)) }
    func encode(_ value: UInt32) throws { box.value = .number(JSONNumber(value)) }
    func encode(_ value: UInt64) throws { box.value = .number(JSONNumber(value)) }
    func encode<T: Encodable>(_ value: T) throws { try encodeValue(value) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: Box
    let codingPath: [any CodingKey]

    private func child(_ key: Key) -> Box {
        if let existing = box.children.first(where: { $0.0 == key.stringValue }) { return existing.1 }
        let child = Box()
        box.children.append((key.stringValue, child))
        return child
    }

    private func encoder(_ key: Key) -> ValueEncoder {
        ValueEncoder(box: child(key), path: codingPath + [key])
    }

    mutating func encodeNil(forKey key: Key) throws { child(key).value = .null }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try encoder(key).encodeValue(value) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { child(key).value = .bool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { child(key).value = .string(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { child(key).value = .number(JSONNumber(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { child(key).value = .number(JSONNumber(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        encoder(key).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        encoder(key).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(box: box, path: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { encoder(key) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let box: Box
    let codingPath: [any CodingKey]
    var count: Int { box.elements?.count ?? 0 }

    private func next() -> ValueEncoder {
        let child = Box()
        box.elements!.append(child)
        return ValueEncoder(box: child, path: codingPath)
    }

    mutating func encodeNil() throws { next().box.value = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try next().encodeValue(value) }
    mutating func encode(_ value: Bool) throws { next().box.value = .bool(value) }
    mutating func encode(_ value: String) throws { next().box.value = .string(value) }
    mutating func encode(_ value: Int) throws { next().box.value = .number(JSONNumber(value)) }
    mutating func encode(_ value: Double) throws { next().box.value = .number(JSONNumber(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        next().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { next().unkeyedContainer() }
    mutating func superEncoder() -> any Encoder { next() }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let i = try? container.decode(Int64.self) {
            self = .number(JSONNumber(i))
        } else if let d = try? container.decode(Double.self) {
            self = .number(JSONNumber(d))
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(JSONObject(try container.decode([String: JSONValue].self).sorted { $0.key < $1.key }.map {
                JSONObject.Member(key: $0.key, value: $0.value)
            }))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let b):
            var container = encoder.singleValueContainer()
            try container.encode(b)
        case .number(let n):
            var container = encoder.singleValueContainer()
            if let i = n.intValue { try container.encode(i) } else { try container.encode(n.doubleValue ?? 0) }
        case .string(let s):
            var container = encoder.singleValueContainer()
            try container.encode(s)
        case .array(let a):
            var container = encoder.unkeyedContainer()
            for element in a { try container.encode(element) }
        case .object(let o):
            var container = encoder.container(keyedBy: AnyKey.self)
            for member in o { try container.encode(member.value, forKey: AnyKey(member.key)) }
        }
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

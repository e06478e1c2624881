import NIOCore
import Testing

@testable import Switchboard

@Suite("JSON parser and writer")
struct JSONParserTests {
    @Test("numbers keep their exact text", arguments: [
        "123456789012345678901234567890", "-9007199254740993", "3.14159265358979323846264338327950288",
        "1e-7", "0", "-0", "2.50", "1E+10",
    ])
    func exactNumbers(_ literal: String) throws {
        let value = try JSONValue(parsing: "[\(literal)]")
        #expect(value.jsonString == "[\(literal)]")
    }

    @Test("strings survive: escapes, unicode, NUL")
    func strings() throws {
        let text = #"{"a":"line\nbreak \"quoted\" \\ tab\t ü ☃ 😀 \u0000 \u00e9 \ud83d\ude00 \/"}"#
        let value = try JSONValue(parsing: text)
        #expect(value["a"]?.stringValue == "line\nbreak \"quoted\" \\ tab\t ü ☃ 😀 \u{0} é 😀 /")
        let again = try JSONValue(parsing: value.jsonString)
        #expect(again == value)
        #expect(value.jsonString.contains("\\u0000"))
    }

    @Test("a lone surrogate becomes U+FFFD")
    func loneSurrogate() throws {
        #expect(try JSONValue(parsing: #""\ud800""#) == .string("\u{FFFD}"))
        #expect(try JSONValue(parsing: #""\udc00x""#) == .string("\u{FFFD}x"))
    }

    @Test("refuses what is not strict JSON", arguments: [
        "", "   ", "hkjhkhk", "{'id': 'a'}", #"{"id": "a", "method""#, "NaN", "Infinity", "[1,]", "{\"a\":1,}",
        "01", "1.", ".5", "-", "1e", "+1", "\"tab\there\"", "[1] [2]", "tru", "nul", "\"\\x\"", "\"\\u12\"",
        "// comment\n1",
    ])
    func refuses(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test("refuses invalid UTF-8 in strings")
    func invalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xFF, 0xFE, 0x22]
        #expect(throws: JSONParseError.self) {
            try bytes.withUnsafeBytes { try JSONValue(parsing: $0) }
        }
    }

    @Test("values stepped over (not built) are checked for UTF-8 too, before and after escapes")
    func invalidUTF8WhenSkipping() {
        func members(_ value: [UInt8]) throws -> Int {
            let bytes = Array(#"{"k":"#.utf8) + value + Array("}".utf8)
            var count = 0
            try bytes.withUnsafeBytes { raw in try JSONParser.forEachMember(in: raw) { _, _ in count += 1 } }
            return count
        }
        let quote: [UInt8] = [0x22]
        #expect(throws: JSONParseError.self) { try members(quote + [0xFF] + quote) }
        #expect(throws: JSONParseError.self) { try members(quote + Array(#"ok\n"#.utf8) + [0xC3] + quote) }
        #expect(throws: JSONParseError.self) { try members(quote + Array("é".utf8) + Array(#"\t"#.utf8) + [0xE2, 0x82] + quote) }
        #expect(throws: Never.self) { try members(quote + Array(#"é\n€ ok"#.utf8) + quote) }
        #expect(throws: Never.self) { try members(Array(#"["ü", {"é": "x\u00e9"}]"#.utf8)) }
    }

    @Test("strings stepped over eight bytes at a time: each byte that ends or spoils a run is found wherever it lies")
    func skippedStringsEveryPosition() throws {
        /// Steps over `content` as a string value (in an array, so the end is checked too).
        func skip(_ content: [UInt8]) throws -> Int {
            let bytes = Array("[\"".utf8) + content + Array("\"]".utf8)
            return try bytes.withUnsafeBytes { try JSONParser.skipValue(in: $0, from: 0) } - 2 - content.count
        }
        for length in 0..<24 {
            let plain = [UInt8](repeating: UInt8(ascii: "x"), count: length)
            #expect(try skip(plain) == 2, "length \(length)")
            for position in 0..<length {
                var control = plain
                control[position] = 0x1F
                #expect(throws: JSONParseError.self, "control at \(position) of \(length)") { try skip(control) }
                var nul = plain
                nul[position] = 0x00
                #expect(throws: JSONParseError.self, "NUL at \(position) of \(length)") { try skip(nul) }
                var badUTF8 = plain
                badUTF8[position] = 0xFF
                #expect(throws: JSONParseError.self, "0xFF at \(position) of \(length)") { try skip(badUTF8) }
                // An escaped quote and a valid two-byte character do not end the run.
                let escaped = Array(plain[..<position]) + Array(#"\""#.utf8) + Array(plain[position...])
                #expect(try skip(escaped) == 2, "escape at \(position) of \(length)")
                let accented = Array(plain[..<position]) + Array("é".utf8) + Array(plain[position...])
                #expect(try skip(accented) == 2, "é at \(position) of \(length)")
                // A quote ends the string early: what follows is not JSON.
                var quoted = plain
                quoted[position] = UInt8(ascii: "\"")
                if position < length - 1 {
                    #expect(throws: JSONParseError.self, "quote at \(position) of \(length)") { try skip(quoted) }
                }
            }
            // Unterminated at every length.
            let open = Array("\"".utf8) + plain
            #expect(throws: JSONParseError.self, "unterminated \(length)") { try open.withUnsafeBytes { try JSONParser.skipValue(in: $0, from: 0) } }
        }
    }

    @Test("nesting is bounded")
    func depth() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONValue(parsing: fine) }
    }

    @Test("type names used in error messages", arguments: [
        ("[1]", "list"), ("\"x\"", "str"), ("42", "int"), ("1.5", "float"), ("1e3", "float"), ("true", "bool"),
        ("null", "null"), ("{}", "dict"),
    ])
    func typeNames(_ text: String, _ name: String) throws {
        #expect(try JSONValue(parsing: text).typeName == name)
    }

    @Test("objects keep member order and compare by content")
    func objects() throws {
        let value = try JSONValue(parsing: #"{"b": 1, "a": [true, false, null], "c": {}}"#)
        #expect(value.jsonString == #"{"b":1,"a":[true,false,null],"c":{}}"#)
        #expect(try JSONValue(parsing: #"{"a": [true, false, null], "c": {}, "b": 1}"#) == value)
        #expect(try JSONValue(parsing: #"{"a": 1, "a": 2}"#)["a"] == 2)
    }

    @Test("skipValue validates and finds the end of a value")
    func skipValue() throws {
        let text = Array(#"{"data": {"x": [1, "a,]"]}, "tail": 1}"#.utf8)
        let end = try text.withUnsafeBytes { try JSONParser.skipValue(in: $0, from: 9) }
        #expect(String(decoding: text[9..<end], as: UTF8.self) == #"{"x": [1, "a,]"]}"#)
        let bad = Array(#"{"x": [1, }"#.utf8)
        #expect(throws: JSONParseError.self) { try bad.withUnsafeBytes { try JSONParser.skipValue(in: $0, from: 0) } }
    }

    @Test("control characters are escaped on output")
    func escapes() {
        let value = JSONValue.string("\u{1}\u{8}\u{c}\n\r\t\"\\")
        #expect(value.jsonString == #""\u0001\b\f\n\r\t\"\\""#)
    }
}

@Suite("JSON: members of validated text")
struct JSONTrustedMembersTests {
    static func members(_ text: String, trusted: Bool) throws -> [String] {
        var found: [String] = []
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBytes { raw in
            try JSONParser.forEachMember(in: raw, trusted: trusted) { key, range in
                found.append("\(key)=\(String(decoding: bytes[range], as: UTF8.self))")
            }
        }
        return found
    }

    @Test("stepping over validated values finds the same members as validating them")
    func sameMembers() throws {
        let texts = [
            #"{}"#,
            #"{"channel":"c","data":{"a":[1,2,{"b":"]}"}]},"event":null}"#,
            #"{ "data" : "quote \" and backslash \\" , "n" : -12.5e3 , "t" : true , "f" : false }"#,
            #"{"data":[],"x":{},"y":[[[]]],"z":"\\","w":"\u00e9 \ud83d\ude00","last":0}"#,
            "{\"data\":\t[1,\n2]\r,\"s\":\"tab\\tin\",\"nested\":{\"a\":{\"b\":{\"c\":[null]}}}}",
        ]
        for text in texts {
            let validated = try Self.members(text, trusted: false)
            #expect(try Self.members(text, trusted: true) == validated, "\(text)")
        }
        #expect(try Self.members(#"{"a":1,"b":"x"}"#, trusted: true) == ["a=1", "b=\"x\""])
        // Strings stepped over eight bytes at a time: an escape or the end at every position.
        for length in 0..<20 {
            for position in 0...length {
                let plain = String(repeating: "y", count: length)
                let index = plain.index(plain.startIndex, offsetBy: position)
                let escaped = plain[..<index] + #"\""# + plain[index...]
                let text = #"{"s":""# + escaped + #"","t":[""# + plain + #"",{"u":"\\"}],"v":0}"#
                let validated = try Self.members(text, trusted: false)
                #expect(try Self.members(text, trusted: true) == validated, "\(text)")
                #expect(validated.count == 3)
            }
        }
    }
}

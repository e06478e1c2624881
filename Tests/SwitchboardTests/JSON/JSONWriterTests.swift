import Testing

@testable import Switchboard

@Suite("JSONWriter")
struct JSONWriterTests {
    @Test("plain JSON strings need no escape")
    func plain() {
        #expect(JSONWriter.needsNoEscape("room-1/ü"))
        #expect(!JSONWriter.needsNoEscape("a\"b"))
        #expect(!JSONWriter.needsNoEscape("a\\b"))
        #expect(!JSONWriter.needsNoEscape("a\nb"))
    }
}

import Testing

@testable import Switchboard

@Suite("History positions and epochs")
struct StreamOffsetTests {
    @Test("offsets parse from Redis stream ids and compare as pairs of numbers")
    func offsets() throws {
        let early = try #require(StreamOffset("1700000000000-9"))
        let late = try #require(StreamOffset("1700000000001-0"))
        #expect(early < late)
        #expect(early.description == "1700000000000-9")
        #expect(StreamOffset("12") == StreamOffset(major: 12, minor: 0))
        for bad in ["", "-1", "a-b", "1-", "1-2-3", "++1", "1+", "18446744073709551616"] { #expect(StreamOffset(bad) == nil, "\(bad)") }
        #expect(StreamOffset("18446744073709551615-0") == StreamOffset(major: .max, minor: 0))
    }

    @Test("positions read as {offset, epoch} and print as OFFSET@EPOCH")
    func positions() throws {
        let position = try #require(StreamPosition(json: ["offset": "5-1", "epoch": "abc"]))
        #expect(position.description == "5-1@abc")
        #expect(StreamPosition(json: ["offset": "x", "epoch": "abc"]) == nil)
    }

    @Test("epochs: eleven letters and digits, a different one at every call")
    func epochs() {
        let epochs = (0..<10_000).map { _ in HistoryEpoch.random() }
        #expect(Set(epochs).count == epochs.count)
        #expect(epochs.allSatisfy { $0.utf8.count == 11 && $0.allSatisfy { $0.isLowercase || $0.isNumber } })
    }
}

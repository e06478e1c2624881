import NIOCore
import Testing

@testable import Switchboard

@Suite("JoinedWrites")
struct JoinedWritesTests {
    @Test("buffers are joined in order up to the limit; one past it starts the next join")
    func joins() {
        var joined = JoinedWrites(limit: 8)
        #expect(joined.add(ByteBuffer(string: "abc")) == nil)
        #expect(joined.add(ByteBuffer(string: "de")) == nil)
        #expect(joined.add(ByteBuffer(string: "fgh")) == nil)  // exactly 8
        #expect(joined.add(ByteBuffer(string: "i")) == ByteBuffer(string: "abcdefgh"))
        #expect(joined.take() == ByteBuffer(string: "i"))
        #expect(joined.take() == nil)
    }

    @Test("a lone buffer comes back as it was given, and joining never changes a shared one")
    func noCopyAlone() {
        let frame = ByteBuffer(string: "shared frame")
        var joined = JoinedWrites()
        _ = joined.add(frame)
        _ = joined.add(ByteBuffer(string: "+more"))
        #expect(joined.take() == ByteBuffer(string: "shared frame+more"))
        #expect(frame == ByteBuffer(string: "shared frame"))
        var alone = JoinedWrites()
        _ = alone.add(frame)
        let taken = alone.take()
        #expect(taken?.readableBytes == frame.readableBytes)
        #expect(taken == frame)
    }

    @Test("bytes written into the join follow what is joined, and start a new join when they do not fit")
    func writtenInPlace() {
        var joined = JoinedWrites(limit: 8)
        #expect(joined.add(room: 3, { $0.write("abc") }) == nil)
        #expect(joined.add(ByteBuffer(string: "de")) == nil)
        #expect(joined.add(room: 3, { $0.write("fgh") }) == nil)  // exactly 8
        #expect(joined.add(room: 1, { $0.write("i") }) == ByteBuffer(string: "abcdefgh"))
        #expect(joined.take() == ByteBuffer(string: "i"))
    }
}

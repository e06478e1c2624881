import NIOCore
import Switchboard
import Testing

@testable import SwitchboardServer

/// The WebSocket connection's state machines, without sockets: the outbound queue and its limit,
/// the ping keepalive, and the hold of recovering history channels.
@Suite("WebSocket connection state")
struct ConnectionStateTests {
    static func frame(_ size: Int) -> ByteBuffer { ByteBuffer(repeating: 0, count: size) }

    @Test("outbound: small frames go straight to a writable channel without counting its buffer")
    func outboundFastPath() {
        let queue = OutboundQueue(limit: 1 << 20)
        var counted = false
        let decision = queue.decide(size: 100, channelWritable: true) {
            counted = true
            return 0
        }
        #expect(decision == .write)
        #expect(!counted)
    }

    @Test("outbound: the channel's buffer and the queue count together; past the limit the socket is too slow")
    func outboundLimit() {
        var queue = OutboundQueue(limit: 256 * 1024)
        #expect(queue.decide(size: 100_000, channelWritable: false) { 100_000 } == .queue)
        queue.append(Self.frame(100_000))
        #expect(queue.decide(size: 50_000, channelWritable: false) { 100_000 } == .queue)
        queue.append(Self.frame(50_000))
        #expect(queue.decide(size: 20_000, channelWritable: false) { 100_000 } == .tooMuch(pending: 250_000))
        // Control frames are always taken.
        #expect(queue.decide(size: 10_000, channelWritable: false, force: true) { 100_000 } == .queue)
        #expect(queue.next()?.readableBytes == 100_000)
        #expect(queue.bytes == 50_000)
    }

    @Test("outbound: one frame larger than the limit is taken when nothing waits, not when something does")
    func outboundOneBigFrame() {
        let queue = OutboundQueue(limit: 1 << 20)
        #expect(queue.decide(size: 4 << 20, channelWritable: true) { 0 } == .write)
        #expect(queue.decide(size: 4 << 20, channelWritable: true) { 10 } == .tooMuch(pending: 10))
    }

    @Test("keepalive: heard from means alive; silence gets a ping; a ping unanswered by the next pass is dead")
    func keepalive() {
        var keepalive = Keepalive()
        #expect(keepalive.pass() == .ping)
        keepalive.heardFromClient()
        #expect(keepalive.pass() == .nothing)
        #expect(keepalive.pass() == .ping)
        #expect(keepalive.pass() == .dead)
    }

    static func message(_ channel: String, offset major: UInt64) -> OutboundMessage {
        OutboundMessage(stream: nil, history: ChannelOffset(channel: channel, offset: StreamOffset(major: major, minor: 0)))
    }

    @Test("recovery: live messages are held, released after the recovered offset, and late duplicates dropped")
    func recoveryHold() {
        var hold = RecoveryHold()
        #expect(hold.isIdle)
        hold.hold(channel: "news")
        #expect(hold.admit(Self.message("other", offset: 1)) == .deliver)
        #expect(hold.admit(Self.message("news", offset: 5)) == .held)
        #expect(hold.admit(Self.message("news", offset: 6)) == .held)
        let released = hold.release(channel: "news", after: StreamOffset(major: 5, minor: 0))
        #expect(released.map { $0.history?.offset.major } == [6])
        // A live message the recovery already sent, arriving late: dropped; a newer one ends the check.
        #expect(hold.admit(Self.message("news", offset: 6)) == .duplicate)
        #expect(hold.admit(Self.message("news", offset: 7)) == .deliver)
        #expect(hold.isIdle)
    }
}

import NIOCore
import Testing

@testable import Switchboard

/// The node's calls to a client, without sockets or timers.
@Suite("Client call table")
struct ClientCallTableTests {
    @Test("serials follow the protocol's numbering; answers find their call once")
    func serials() {
        var table = ClientCallTable<String>(firstSerial: 2, step: 2, limit: 8)
        let first = table.nextCallSerial()
        let second = table.nextCallSerial()
        #expect((first, second) == (2, 4))
        table.add("multiply", serial: first)
        table.add("divide", serial: second)
        #expect(table.count == 2)
        guard case .call(let call) = table.answer(serial: 4) else { Issue.record("no call"); return }
        #expect(call == "divide")
        guard case .unknown = table.answer(serial: 4) else { Issue.record("answered twice"); return }
        #expect(table.remove(serial: 2) == "multiply")
        #expect(table.count == 0)
    }

    @Test("the limit bounds the calls waiting")
    func limit() {
        var table = ClientCallTable<Int>(firstSerial: 0, step: 1, limit: 2)
        table.add(1, serial: table.nextCallSerial())
        #expect(table.hasRoom)
        table.add(2, serial: table.nextCallSerial())
        #expect(!table.hasRoom)
        #expect(table.removeAll().sorted() == [1, 2])
        #expect(table.hasRoom)
    }

    @Test("keepalive: one call at a time, kept apart from the others; expired after the timeout")
    func keepalive() {
        var table = ClientCallTable<String>(firstSerial: 2, step: 2, limit: 1)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(table.keepalivePass(now: start, timeout: .seconds(1)) == .send(serial: 2))
        #expect(table.keepalivePass(now: start + .milliseconds(500), timeout: .seconds(1)) == .wait)
        #expect(table.hasRoom, "the keepalive does not take a call's room")
        guard case .keepalive = table.answer(serial: 2) else { Issue.record("not the keepalive"); return }
        #expect(table.keepalivePass(now: start + .seconds(1), timeout: .seconds(1)) == .send(serial: 4))
        #expect(table.keepalivePass(now: start + .seconds(2), timeout: .seconds(1)) == .expired)
    }
}

import Testing

@testable import Switchboard

/// The per-channel broker subscription state machine, without sockets or a broker.
@Suite("Channel subscription state machine")
struct ChannelSubscriptionTests {
    /// A machine driven step by step, each step's outcome recorded in order.
    struct Script {
        var machine = ChannelSubscription<Int>()
        mutating func join() -> ChannelSubscription<Int>.JoinAction { machine.join() }
        mutating func wait(_ waiter: Int) -> Bool? { machine.addWaiter(waiter) }
        mutating func subscribed() -> [Int] { machine.subscribed() }
        mutating func failed() -> [Int] { machine.subscribeFailed() }
        mutating func release() -> Bool { machine.release() }
        mutating func unsubscribed(wanted: Bool) -> ChannelSubscription<Int>.AfterUnsubscribe { machine.unsubscribed(wanted: wanted) }
    }

    @Test("the first join subscribes; joins meanwhile wait and are resumed by its outcome")
    func firstJoin() {
        var script = Script()
        let first = script.join(), second = script.join()
        let waits = [script.wait(1), script.wait(2)]
        let resumed = script.subscribed()
        let later = script.join(), lateWait = script.wait(3)
        #expect(first == .subscribe && second == .wait)
        #expect(waits == [nil, nil])
        #expect(resumed == [1, 2])
        #expect(script.machine.isActive)
        #expect(later == .ready && lateWait == true)
    }

    @Test("a failed subscribe fails its waiters and leaves the channel idle; the next join tries again")
    func failure() {
        var script = Script()
        _ = script.join()
        _ = script.wait(7)
        let failed = script.failed()
        let idle = script.machine.isIdle
        let lateWait = script.wait(8)
        let retry = script.join()
        #expect(failed == [7] && idle)
        #expect(lateWait == false)
        #expect(retry == .subscribe)
    }

    @Test("the last socket leaves and another joins before the broker's unsubscribe is done: it waits, and the node subscribes again")
    func rejoinDuringUnsubscribe() {
        var script = Script()
        _ = script.join()
        _ = script.subscribed()
        let released = script.release()
        // A join now must not be told the channel is active: the unsubscribe is on its way.
        let join = script.join()
        let wait = script.wait(1)
        let second = script.release()
        let after = script.unsubscribed(wanted: true)
        let joinAgain = script.join()
        let resumed = script.subscribed()
        #expect(released && join == .wait && wait == nil)
        #expect(!second, "one release at a time")
        #expect(after == .subscribe)
        #expect(joinAgain == .wait, "the new subscribe is on its way")
        #expect(resumed == [1] && script.machine.isActive)
    }

    @Test("a join that registered before the unsubscribe finished, without a waiter yet, still gets a subscribe")
    func rejoinWithoutWaiterYet() {
        var script = Script()
        _ = script.join()
        _ = script.subscribed()
        _ = script.release()
        let join = script.join()
        let after = script.unsubscribed(wanted: true)
        let wait = script.wait(4)
        let resumed = script.subscribed()
        #expect(join == .wait && after == .subscribe && wait == nil && resumed == [4])
    }

    @Test("a release with nobody coming back ends idle; releasing an idle or subscribing channel does nothing")
    func releaseToIdle() {
        var script = Script()
        let idleRelease = script.release()
        _ = script.join()
        let subscribingRelease = script.release()
        _ = script.subscribed()
        let released = script.release()
        let after = script.unsubscribed(wanted: false)
        let idle = script.machine.isIdle
        let late = script.unsubscribed(wanted: false)
        #expect(!idleRelease)
        #expect(!subscribingRelease, "a subscribe in flight is its joiner's to finish")
        #expect(released && after == .done && idle)
        #expect(late == .done, "a late report changes nothing")
    }
}

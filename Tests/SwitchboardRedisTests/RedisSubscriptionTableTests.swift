import Testing

@testable import SwitchboardRedis

/// The subscriber connection's channel table, without Redis: what each event says to send and
/// whom it resumes. The broker's own behaviour with a real Redis is in `RedisBrokerTests` and
/// `SubscriptionRaceTests`.
@Suite("Redis subscription table")
struct RedisSubscriptionTableTests {
    typealias Table = RedisSubscriptionTable<String>

    /// A table with a connection restored with nothing: subscribes are sent at once.
    func connectedTable() -> Table {
        var table = Table()
        _ = table.restart(with: [], extra: ["probe"])
        let restored = table.restoredOne("probe")
        #expect(restored)
        let missing = table.ready()
        #expect(missing.isEmpty)
        return table
    }

    /// A connected table where `channel` is subscribed and confirmed.
    func connectedTable(active channel: String) -> Table {
        var table = connectedTable()
        _ = table.subscribe(channel, waiter: "first")
        _ = table.confirmed(channel)
        return table
    }

    @Test("a first subscribe sends SUBSCRIBE and waits; the confirmation resumes every waiter")
    func subscribeThenConfirm() {
        var table = connectedTable()
        guard case .wait(_, send: true) = table.subscribe("news", waiter: "a") else {
            Issue.record("the first subscribe must send SUBSCRIBE")
            return
        }
        guard case .wait(_, send: false) = table.subscribe("news", waiter: "b") else {
            Issue.record("a second subscribe while one is pending must not send again")
            return
        }
        let confirmation = table.confirmed("news")
        #expect(confirmation.waiters.sorted() == ["a", "b"])
        #expect(!confirmation.unwanted)
        #expect(table.active == ["news"])
        guard case .active = table.subscribe("news", waiter: "c") else {
            Issue.record("an active channel needs no wait")
            return
        }
    }

    @Test("after a release is sent, a subscribe waits for its own confirmation (no deaf subscriber)")
    func subscribeAfterReleaseWaits() {
        var table = connectedTable(active: "news")
        table.unsubscribe("news")
        let unsubscribeNow = table.releaseDue("news")
        #expect(unsubscribeNow, "the release delay passed with nobody wanting it: UNSUBSCRIBE")
        #expect(!table.active.contains("news"))
        guard case .wait(_, send: true) = table.subscribe("news", waiter: "b") else {
            Issue.record("a subscribe after UNSUBSCRIBE was sent must send its own SUBSCRIBE")
            return
        }
        // Redis answers the UNSUBSCRIBE first: the channel is still wanted, and asked for.
        let unsubscribed = table.unsubscribed("news")
        #expect(!unsubscribed.resubscribe && !unsubscribed.forget)
        let confirmation = table.confirmed("news")
        #expect(confirmation.waiters == ["b"])
        #expect(table.active == ["news"])
    }

    @Test("a channel wanted again within the release delay is not released")
    func rejoinWithinDelay() {
        var table = connectedTable(active: "news")
        table.unsubscribe("news")
        guard case .active = table.subscribe("news", waiter: "b") else {
            Issue.record("still active: no wait")
            return
        }
        let unsubscribeNow = table.releaseDue("news")
        #expect(!unsubscribeNow)
        #expect(table.active == ["news"])
    }

    @Test("a confirmation for a channel released meanwhile is unwanted and does not count as active")
    func confirmationAfterRelease() {
        var table = connectedTable()
        _ = table.subscribe("news", waiter: "a")
        table.unsubscribe("news")
        let confirmation = table.confirmed("news")
        #expect(confirmation.unwanted)
        #expect(confirmation.waiters == ["a"])
        #expect(table.active.isEmpty)
    }

    @Test("a subscribe past its deadline gives up the channel unless it is active")
    func timeout() {
        var table = connectedTable()
        guard case .wait(let id, _) = table.subscribe("news", waiter: "a") else {
            Issue.record("must wait")
            return
        }
        let first = table.timedOut("news", id: id)
        #expect(first == "a")
        let second = table.timedOut("news", id: id)
        #expect(second == nil, "a waiter is resumed once")
        #expect(!table.wanted.contains("news"))
    }

    @Test("Redis dropping a channel the hub wants is answered with a new SUBSCRIBE; one it does not want is forgotten")
    func serverUnsubscribe() {
        var table = connectedTable(active: "news")
        let again = table.unsubscribed("news")
        #expect(again.resubscribe && !again.forget)
        #expect(table.requested.contains("news"))
        table.unsubscribe("news")
        let unsubscribeNow = table.releaseDue("news")
        #expect(unsubscribeNow)
        let gone = table.unsubscribed("news")
        #expect(!gone.resubscribe && gone.forget)
    }

    @Test("while disconnected, subscribes wait and are sent with the next connection's restore")
    func subscribeWhileDown() {
        var table = connectedTable()
        _ = table.subscribe("kept", waiter: "a")
        _ = table.confirmed("kept")
        table.connectionLost()
        #expect(table.active.isEmpty && !table.connected)
        guard case .wait(_, send: false) = table.subscribe("new", waiter: "b") else {
            Issue.record("nothing is sent without a connection")
            return
        }
        // The hub's record has "kept"; "new" still waits: both are restored.
        let restore = table.restart(with: ["kept"], extra: ["probe"])
        #expect(Set(restore) == ["kept", "new"])
        let afterProbe = table.restoredOne("probe")
        #expect(!afterProbe)
        let keptConfirmation = table.confirmed("kept")
        #expect(keptConfirmation.waiters.isEmpty)
        let afterKept = table.restoredOne("kept")
        #expect(!afterKept, "\"new\" is not confirmed yet")
        let newConfirmation = table.confirmed("new")
        #expect(newConfirmation.waiters == ["b"])
        let afterNew = table.restoredOne("new")
        #expect(afterNew, "the last confirmation completes the restore")
        let again = table.restoredOne("new")
        #expect(!again, "counted once")
        let missing = table.ready()
        #expect(missing.isEmpty)
        #expect(table.connected && table.active == ["kept", "new"])
    }

    @Test("channels asked for during the restore are sent once the connection is ready")
    func subscribeDuringRestore() {
        var table = Table()
        _ = table.restart(with: ["a"], extra: ["probe"])
        guard case .wait(_, send: false) = table.subscribe("b", waiter: "x") else {
            Issue.record("not sent before the restore is done")
            return
        }
        _ = table.confirmed("a")
        let afterA = table.restoredOne("a")
        #expect(!afterA)
        let afterProbe = table.restoredOne("probe")
        #expect(afterProbe)
        let missing = table.ready()
        #expect(missing == ["b"])
        #expect(table.requested == ["b"])
    }

    @Test("closing hands back every waiter once")
    func close() {
        var table = connectedTable()
        _ = table.subscribe("a", waiter: "1")
        _ = table.subscribe("b", waiter: "2")
        let waiters = table.removeAllWaiters()
        #expect(waiters.sorted() == ["1", "2"])
        let none = table.removeAllWaiters()
        #expect(none.isEmpty)
    }
}

@Suite("Redis subscription table: topology changes")
struct RedisSubscriptionTableTopologyTests {
    @Test("disowning channels that moved forgets them and hands back their waiters; the rest stay")
    func disown() {
        var table = RedisSubscriptionTable<Int>()
        _ = table.restart(with: [], extra: [])
        _ = table.ready()
        _ = table.subscribe("a", waiter: 1)
        _ = table.subscribe("b", waiter: 2)
        _ = table.confirmed("b")
        _ = table.subscribe("c", waiter: 3)
        let handed = table.disown(["a", "b", "z"])
        #expect(Set(handed.map(\.channel)) == ["a", "b"])
        #expect(handed.first { $0.channel == "a" }?.waiters == [1])
        #expect(handed.first { $0.channel == "b" }?.waiters == [])
        #expect(table.held == ["c"])
        #expect(!table.active.contains("b"))
        #expect(table.removeAllWaiters() == [3])
    }
}

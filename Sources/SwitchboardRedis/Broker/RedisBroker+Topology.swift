import CoreMetrics
import Logging
import NIOCore
import Switchboard
import Synchronization

/// The broker's life: supervising one link per primary, reading a Redis Cluster's topology (at
/// start, every `topologyRefreshInterval`, and again and again after a lost link or a
/// redirection until the links are up), following it (new primaries get links, links whose slots
/// changed restore what they own now), and closing.
extension RedisBroker {
    /// Connects, and keeps the links up (reconnecting, restoring, probing, refreshing presence,
    /// following the topology) until `close()`. Everything it starts ends before it returns.
    public func run() async {
        subscriberLoop.execute { self.startProbing() }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.refreshPresence() }
            if naming.sharded {
                group.addTask { await self.followTopology() }
            }
            for await link in newLinks.stream {
                group.addTask { await link.supervise() }
            }
            group.cancelAll()
        }
    }

    /// The hub, once bound (`nil` after `close()`).
    var boundDelegate: (any BrokerDelegate)? { delegate.withLock { $0 } }

    /// `true` once `close()` began.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// A link lost its connection: on a cluster, a replica may be taking over.
    func linkLost(_ link: RedisShardLink) {
        if naming.sharded { topologyMayHaveChanged() }
    }

    /// Asks for a topology read soon (requests coalesce).
    func topologyMayHaveChanged() {
        refreshRequests.continuation.yield()
    }

    /// Reads the topology when asked (and periodically); while it cannot be read, or a link is
    /// not up, reads it again every `topologyRetryInterval`.
    func followTopology() async {
        await withDiscardingTaskGroup { group in
            let interval = configuration.topologyRefreshInterval
            group.addTask {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: .nanoseconds(interval.nanoseconds)) } catch { return }
                    self.topologyMayHaveChanged()
                }
            }
            topologyMayHaveChanged()
            for await _ in refreshRequests.stream {
                let settled = await refreshTopology()
                // One retry pending at a time: requests meanwhile coalesce into it.
                let retry = !settled && state.withLock { state -> Bool in
                    defer { state.retryPending = true }
                    return !state.retryPending && !state.closed
                }
                guard retry else { continue }
                let delay = configuration.topologyRetryInterval
                group.addTask {
                    try? await Task.sleep(for: .nanoseconds(delay.nanoseconds))
                    self.state.withLock { $0.retryPending = false }
                    self.topologyMayHaveChanged()
                }
            }
            group.cancelAll()
        }
    }

    /// Reads the topology from the first node that answers and follows it. Returns `true` when
    /// it was read, covers every slot, and every link is up.
    @discardableResult
    func refreshTopology() async -> Bool {
        let known = state.withLock { $0.topology }
        var candidates: [RedisNodeAddress] = []
        for address in known.primaries + known.allNodes + configuration.url.seeds where !candidates.contains(address) {
            candidates.append(address)
        }
        var best: RedisTopology?
        var lastError: (any Error)?
        for address in candidates {
            guard !isClosed else { return true }
            do {
                let topology = try await readTopology(from: address)
                if topology.coversAllSlots {
                    best = topology
                    break
                }
                if best == nil { best = topology }
            } catch {
                lastError = error
                logger.debug("cannot read the Redis Cluster topology from a node", metadata: ["node": "\(address)", "error": "\(error)"])
            }
        }
        guard let best else {
            // Said at the first failure and then about every 10 s (reads are retried every 250 ms).
            let failures = state.withLock { state -> Int in
                state.failedReads += 1
                return state.failedReads
            }
            if failures == 1 || failures % 40 == 0 {
                logger.warning(
                    "cannot read the Redis Cluster topology from any node; retrying",
                    metadata: ["tried": "\(candidates.map(\.description).joined(separator: ","))", "error": "\(lastError.map { "\($0)" } ?? "none")", "failures": "\(failures)"]
                )
            }
            return false
        }
        state.withLock { $0.failedReads = 0 }
        await follow(best)
        let links = self.links
        return best.coversAllSlots && links.allSatisfy(\.isReady)
    }

    /// `CLUSTER SHARDS` from one node (`CLUSTER SLOTS` where that is unknown).
    func readTopology(from address: RedisNodeAddress) async throws -> RedisTopology {
        let timeout = min(configuration.connectTimeout, configuration.commandTimeout)
        let connection = try await RedisConnection.connect(
            to: configuration.url.node(address), on: publisherLoop, timeout: timeout, commandTimeout: timeout, tls: configuration.tls, logger: logger
        )
        defer { connection.close() }
        do {
            let reply = try await connection.send(["CLUSTER", "SHARDS"]).get()
            return try RedisTopology.parse(shardsReply: reply, defaultHost: address.host)
        } catch RedisError.server(let message) where message.contains("unknown subcommand") || message.contains("Unknown subcommand") {
            let reply = try await connection.send(["CLUSTER", "SLOTS"]).get()
            return try RedisTopology.parse(slotsReply: reply, defaultHost: address.host)
        }
    }

    /// Applies a topology read: links for new primaries (they restore their channels when they
    /// connect), links of primaries gone are closed; a channel whose slot moved leaves its old
    /// link and is subscribed on its new owner, its waiters with it, history channels reading
    /// what they missed meanwhile. Other channels are not touched.
    func follow(_ topology: RedisTopology) async {
        let (added, removed, kept) = state.withLock { state -> ([RedisShardLink], [RedisShardLink], [RedisShardLink]) in
            guard !state.closed, topology != state.topology else { return ([], [], []) }
            let old = state.topology
            state.topology = topology
            if !old.shards.isEmpty { state.changes += 1 }
            var added: [RedisShardLink] = []
            var removed: [RedisShardLink] = []
            var kept: [RedisShardLink] = []
            for primary in topology.primaries where state.links[primary] == nil {
                let link = RedisShardLink(address: primary, broker: self)
                state.links[primary] = link
                added.append(link)
            }
            for (address, link) in state.links where !added.contains(where: { $0 === link }) {
                if topology.primaries.contains(address) {
                    kept.append(link)
                } else {
                    state.links[address] = nil
                    removed.append(link)
                }
            }
            return (added, removed, kept)
        }
        guard !added.isEmpty || !removed.isEmpty || !kept.isEmpty else { return }
        topologyChanges.increment()
        logger.info(
            "Redis Cluster topology",
            metadata: [
                "primaries": "\(topology.primaries.map(\.description).joined(separator: ","))",
                "new": "\(added.map(\.address.description).joined(separator: ","))",
                "gone": "\(removed.map(\.address.description).joined(separator: ","))",
            ]
        )
        for link in added { newLinks.continuation.yield(link) }
        // Channels whose slot another shard owns now leave their link, with their waiters.
        var handedOver: [(channel: String, waiters: [CheckedContinuation<Void, any Error>])] = []
        for link in kept + removed {
            handedOver += link.disown { self.link(for: $0) !== link }
        }
        for link in removed { await link.close() }
        // A link whose probe or inbox channel moved subscribes its own channels again.
        for link in kept where !link.ownChannelsCurrent() { link.restartSubscriber() }
        for (channel, waiters) in handedOver {
            for waiter in waiters {
                if let owner = link(for: channel) {
                    owner.subscribe(channel: channel, waiter: waiter)
                } else {
                    waiter.resume(throwing: BrokerError.cannotSubscribe)
                }
            }
        }
        // The hub's channels a kept link owns now but does not hold are subscribed there (new
        // links restore theirs when they connect); history channels then read what they missed.
        let wanted = Set(boundDelegate?.channelsToRestore() ?? [])
        let adopted: [(link: RedisShardLink, channel: String)] = wanted.compactMap { channel in
            guard let owner = link(for: channel), !added.contains(where: { $0 === owner }), !owner.holds(channel) else { return nil }
            return (owner, channel)
        }
        guard !adopted.isEmpty else { return }
        logger.info("channels moved to another Redis shard", metadata: ["channels": "\(adopted.count)"])
        let moved = Set(adopted.map(\.channel))
        let positions = (try? await subscriberLoop.submit { self.reader.beginRecovery(of: moved) }.get()) ?? [:]
        await withDiscardingTaskGroup { group in
            for (owner, channel) in adopted {
                group.addTask { try? await owner.subscribe(channel: channel) }
            }
        }
        if !positions.isEmpty { await recover(positions) }
    }

    // MARK: - Probe

    func startProbing() {
        let period = min(configuration.probeInterval, configuration.probeTimeout, .seconds(1))
        // Holds the broker (its connections' callbacks do too) until it closes: a weak reference
        // would give it a side table, which sends every count of it down the slow path.
        subscriberLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { task in
            if self.isClosed { return task.cancel() }
            for link in self.links { link.probeTick() }
        }
    }

    // MARK: - Closing

    public func close() async {
        let links = state.withLock { state -> [RedisShardLink] in
            state.closed = true
            defer { state.links = [:] }
            return Array(state.links.values)
        }
        delegate.withLock { $0 = nil }
        newLinks.continuation.finish()
        refreshRequests.continuation.finish()
        for link in links { await link.close() }
    }
}

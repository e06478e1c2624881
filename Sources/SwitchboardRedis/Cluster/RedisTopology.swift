/// Where a Redis node listens.
public struct RedisNodeAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.host, lhs.port) < (rhs.host, rhs.port) }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Which primary owns which hash slots: a single Redis is one shard that owns them all; a Redis
/// Cluster's map comes from `CLUSTER SHARDS` (or `CLUSTER SLOTS` before Redis 7), read again when
/// Redis answers `MOVED`. Pure: the broker reads and applies it.
public struct RedisTopology: Equatable, Sendable {
    /// One shard: its primary, its replicas, the slot ranges it owns.
    public struct Shard: Equatable, Sendable {
        public var primary: RedisNodeAddress
        public var replicas: [RedisNodeAddress]
        public var slots: [ClosedRange<UInt16>]

        public init(primary: RedisNodeAddress, replicas: [RedisNodeAddress] = [], slots: [ClosedRange<UInt16>]) {
            self.primary = primary
            self.replicas = replicas
            self.slots = slots
        }
    }

    /// The shards that own slots, ordered by primary address.
    public private(set) var shards: [Shard]
    /// Slot → index in `shards` (`UInt16.max`: nobody owns it).
    private var owners: [UInt16]

    public init(shards: [Shard]) {
        self.shards = shards.filter { !$0.slots.isEmpty }.sorted { $0.primary < $1.primary }.map { shard in
            var shard = shard
            shard.slots.sort { $0.lowerBound < $1.lowerBound }
            return shard
        }
        owners = Array(repeating: .max, count: HashSlot.count)
        for (index, shard) in self.shards.enumerated() {
            for range in shard.slots {
                for slot in range where Int(slot) < HashSlot.count { owners[Int(slot)] = UInt16(index) }
            }
        }
    }

    /// A single Redis: one shard, every slot.
    public static func single(_ address: RedisNodeAddress) -> RedisTopology {
        RedisTopology(shards: [Shard(primary: address, slots: [0...UInt16(HashSlot.count - 1)])])
    }

    /// The primaries, in order.
    public var primaries: [RedisNodeAddress] { shards.map(\.primary) }

    /// Every node named (primaries and replicas): where to ask for the topology next time.
    public var allNodes: [RedisNodeAddress] { shards.flatMap { [$0.primary] + $0.replicas } }

    /// The primary that owns `slot`, if any.
    public func primary(for slot: HashSlot) -> RedisNodeAddress? {
        let index = owners[Int(slot.rawValue)]
        return index == .max ? nil : shards[Int(index)].primary
    }

    /// Whether every slot has an owner.
    public var coversAllSlots: Bool { !owners.contains(.max) }

    // MARK: - Parsing

    /// Why a topology reply could not be read.
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads a `CLUSTER SHARDS` reply (Redis 7). `defaultHost`: the host asked, for nodes whose
    /// endpoint is unknown (`?` or empty).
    public static func parse(shardsReply reply: RESPValue, defaultHost: String) throws(ParseError) -> RedisTopology {
        guard case .array(let entries) = reply else { throw ParseError(description: "CLUSTER SHARDS: not an array") }
        var shards: [Shard] = []
        for entry in entries {
            let shard = map(entry)
            guard let slotValues = shard["slots"]?.array, case .array(let nodes)? = shard["nodes"] else {
                throw ParseError(description: "CLUSTER SHARDS: a shard without slots or nodes")
            }
            var slots: [ClosedRange<UInt16>] = []
            var index = 0
            while index + 1 < slotValues.count {
                guard let low = number(slotValues[index]), let high = number(slotValues[index + 1]), low <= high, high < HashSlot.count else {
                    throw ParseError(description: "CLUSTER SHARDS: a bad slot range")
                }
                slots.append(UInt16(low)...UInt16(high))
                index += 2
            }
            var primaries: [(RedisNodeAddress, Bool)] = []
            var replicas: [RedisNodeAddress] = []
            for node in nodes {
                let fields = map(node)
                guard let port = fields["port"].flatMap(number) ?? fields["tls-port"].flatMap(number) else { continue }
                var host = fields["endpoint"]?.string ?? ""
                if host.isEmpty || host == "?" { host = fields["ip"]?.string ?? "" }
                if host.isEmpty || host == "?" { host = defaultHost }
                let address = RedisNodeAddress(host: host, port: port)
                let online = fields["health"]?.string.map { $0 == "online" } ?? true
                if fields["role"]?.string == "master" {
                    primaries.append((address, online))
                } else if online {
                    replicas.append(address)
                }
            }
            // A primary that failed is kept until a replica takes over: its slots stay its own.
            guard let primary = primaries.first(where: { $0.1 })?.0 ?? primaries.first?.0 else { continue }
            shards.append(Shard(primary: primary, replicas: replicas.sorted(), slots: slots))
        }
        return RedisTopology(shards: shards)
    }

    /// Reads a `CLUSTER SLOTS` reply (before Redis 7).
    public static func parse(slotsReply reply: RESPValue, defaultHost: String) throws(ParseError) -> RedisTopology {
        guard case .array(let entries) = reply else { throw ParseError(description: "CLUSTER SLOTS: not an array") }
        var byPrimary: [RedisNodeAddress: Shard] = [:]
        for entry in entries {
            guard case .array(let parts) = entry, parts.count >= 3, let low = number(parts[0]), let high = number(parts[1]),
                low <= high, high < HashSlot.count
            else { throw ParseError(description: "CLUSTER SLOTS: a bad slot range") }
            var addresses: [RedisNodeAddress] = []
            for node in parts[2...] {
                guard case .array(let fields) = node, fields.count >= 2, let port = number(fields[1]) else { continue }
                var host = fields[0].string ?? ""
                if host.isEmpty || host == "?" { host = defaultHost }
                addresses.append(RedisNodeAddress(host: host, port: port))
            }
            guard let primary = addresses.first else { continue }
            var shard = byPrimary[primary] ?? Shard(primary: primary, slots: [])
            shard.slots.append(UInt16(low)...UInt16(high))
            shard.replicas = Array(Set(shard.replicas + addresses.dropFirst())).sorted()
            byPrimary[primary] = shard
        }
        return RedisTopology(shards: Array(byPrimary.values))
    }

    /// A RESP2 map (flat key, value array) as a dictionary.
    private static func map(_ value: RESPValue) -> [String: RESPValue] {
        guard case .array(let flat) = value else { return [:] }
        var out: [String: RESPValue] = [:]
        var index = 0
        while index + 1 < flat.count {
            if let key = flat[index].string { out[key] = flat[index + 1] }
            index += 2
        }
        return out
    }

    private static func number(_ value: RESPValue) -> Int? {
        if let integer = value.integer { return Int(integer) }
        return value.string.flatMap { Int($0) }
    }
}

import NIOCore

/// How Switchboard channels are named in Redis, and which commands carry them. On a single
/// Redis: `<prefix><channel>` with PUBLISH/SUBSCRIBE. On a Redis Cluster: `<prefix>{<channel>}`
/// with SPUBLISH/SSUBSCRIBE (sharded pub/sub), so that the channel hashes to the slot of its
/// history, presence and state keys (`<prefix>history:{<channel>}`, …).
struct RedisChannelNaming: Sendable {
    let prefix: String
    /// `true` on a Redis Cluster.
    let sharded: Bool
    let prefixBytes: [UInt8]

    init(prefix: String, sharded: Bool) {
        self.prefix = prefix
        self.sharded = sharded
        self.prefixBytes = Array((sharded ? prefix + "{" : prefix).utf8)
    }

    var publishCommand: String { sharded ? "SPUBLISH" : "PUBLISH" }
    var subscribeCommand: String { sharded ? "SSUBSCRIBE" : "SUBSCRIBE" }
    var unsubscribeCommand: String { sharded ? "SUNSUBSCRIBE" : "UNSUBSCRIBE" }

    /// The Redis channel of a Switchboard channel (or of a node's inbox, `node:<id>`).
    func redisName(_ channel: String) -> String {
        sharded ? "\(prefix){\(channel)}" : prefix + channel
    }

    /// The hash slot of a Switchboard channel: that of its Redis channel, which is that of its keys.
    func slot(of channel: String) -> HashSlot {
        HashSlot(key: redisName(channel))
    }

    /// The Switchboard channel of a Redis channel's name (`nil` when it is not one of ours).
    func channel(of redisName: String) -> String? {
        if sharded {
            guard redisName.hasPrefix(prefix + "{"), redisName.hasSuffix("}"), redisName.utf8.count > prefix.utf8.count + 2 else { return nil }
            return String(redisName.dropFirst(prefix.count + 1).dropLast())
        }
        guard redisName.hasPrefix(prefix), redisName.count > prefix.count else { return nil }
        return String(redisName.dropFirst(prefix.count))
    }

    /// The Switchboard channel of a pushed Redis channel's bytes.
    func channel(of redisName: ByteBuffer) -> String? {
        let view = redisName.readableBytesView
        guard view.count > prefixBytes.count + (sharded ? 1 : 0), view.starts(with: prefixBytes) else { return nil }
        if sharded {
            guard view.last == UInt8(ascii: "}") else { return nil }
            return String(decoding: view.dropFirst(prefixBytes.count).dropLast(), as: UTF8.self)
        }
        return String(decoding: view.dropFirst(prefixBytes.count), as: UTF8.self)
    }
}

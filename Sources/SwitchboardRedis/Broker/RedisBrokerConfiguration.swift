public import NIOCore
public import NIOSSL
import Switchboard

extension RedisBroker {
    /// How a node uses Redis.
    public struct Configuration: Sendable {
        /// Where Redis is (with AUTH and SELECT).
        public var url: RedisURL
        /// Prefix of Redis channel names, so that several applications can share one Redis.
        public var channelPrefix: String
        /// This node's id: its sockets are `<nodeID>.<n>`; its inbox is `<prefix>node:<nodeID>`.
        public var nodeID: String
        /// Time allowed to connect (and authenticate).
        public var connectTimeout: TimeAmount
        /// How long a subscribe waits for Redis (while it is down, or for the confirmation)
        /// before the caller gets "Invalid channel".
        public var subscribeTimeout: TimeAmount
        /// First and longest wait between reconnection attempts (jittered, doubling).
        public var reconnectDelay: (initial: TimeAmount, maximum: TimeAmount)
        /// After this long without any message, the node publishes to its own probe channel and
        /// reconnects unless the probe comes back within `probeTimeout`.
        public var probeInterval: TimeAmount
        /// How long a probe may take.
        public var probeTimeout: TimeAmount
        /// How long to wait before UNSUBSCRIBE when a channel's last local socket left (a socket
        /// that leaves and comes back does not churn Redis).
        public var unsubscribeDelay: TimeAmount
        /// Channel names per SUBSCRIBE when restoring subscriptions after a reconnect.
        public var resubscribeBatchSize: Int
        /// TLS settings for a `rediss://` URL (trust roots, a client certificate); `nil`: the
        /// system's defaults.
        public var tls: TLSConfiguration?
        /// How long a presence entry outlives its node's last refresh (nodes refresh theirs every
        /// third of it): a node that dies leaves the presence of its channels within this time.
        public var presenceTTL: TimeAmount = .seconds(30)
        /// How long any command may wait for its reply (`--redis-timeout`): past it the command
        /// fails, the connection is declared dead and closed, the node turns not ready and
        /// reconnects. A Redis that hangs without closing its sockets is found within this time
        /// while commands are in flight, and within `probeInterval` plus this time when idle.
        public var commandTimeout: TimeAmount = .seconds(2)
        /// On a Redis Cluster: how often the topology is read again when nothing asks for it
        /// (a lost link or a redirection reads it at once).
        public var topologyRefreshInterval: TimeAmount = .seconds(10)
        /// On a Redis Cluster: how soon a topology read is tried again while it cannot be read or
        /// a link is down (a replica taking over a dead primary is found within about this time).
        public var topologyRetryInterval: TimeAmount = .milliseconds(250)

        public init(
            url: RedisURL,
            channelPrefix: String = "switchboard:",
            nodeID: String = NodeIdentity.random(),
            connectTimeout: TimeAmount = .seconds(5),
            subscribeTimeout: TimeAmount = .seconds(5),
            reconnectDelay: (initial: TimeAmount, maximum: TimeAmount) = (.milliseconds(100), .milliseconds(500)),
            probeInterval: TimeAmount = .seconds(10),
            probeTimeout: TimeAmount = .seconds(5),
            unsubscribeDelay: TimeAmount = .seconds(1),
            resubscribeBatchSize: Int = 200,
            tls: TLSConfiguration? = nil
        ) {
            self.url = url
            self.channelPrefix = channelPrefix
            self.nodeID = nodeID
            self.connectTimeout = connectTimeout
            self.subscribeTimeout = subscribeTimeout
            self.reconnectDelay = reconnectDelay
            self.probeInterval = probeInterval
            self.probeTimeout = probeTimeout
            self.unsubscribeDelay = unsubscribeDelay
            self.resubscribeBatchSize = resubscribeBatchSize
            self.tls = tls
        }

        /// Parses `url` (`redis://[user:password@]host:port[/db]`).
        public init(url: String, channelPrefix: String = "switchboard:", nodeID: String = NodeIdentity.random()) throws {
            self.init(url: try RedisURL(url), channelPrefix: channelPrefix, nodeID: nodeID)
        }

        /// The node's probe channel: it contains a space, which no Switchboard channel can.
        var probeChannel: String { "switchboard probe \(channelPrefix) \(nodeID)" }

        /// The keys of a channel's history: its stream and its epoch. The channel is the hash
        /// tag, so both live on the shard of the channel's other keys.
        func historyKeys(_ channel: String) -> (stream: String, epoch: String) {
            ("\(channelPrefix)history:{\(channel)}", "\(channelPrefix)history-epoch:{\(channel)}")
        }

        /// The keys of a channel's presence: the entries (hash: socket → entry) and their
        /// expiry times (sorted set: socket → milliseconds).
        func presenceKeys(_ channel: String) -> (entries: String, expiry: String) {
            ("\(channelPrefix)presence:{\(channel)}", "\(channelPrefix)presence-expiry:{\(channel)}")
        }

    }
}

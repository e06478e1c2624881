import Crypto
import NIOCore

/// The Lua scripts of history and presence. Each touches the keys of one channel only (they
/// share its hash tag), so they run on one shard of a Redis Cluster too.
enum RedisScripts {
    /// Appends to a channel's history and publishes the message with its offset and epoch, in
    /// one step: no message is in the stream but not published, or the reverse. A stream that is
    /// gone (never made, expired, deleted) starts a new epoch. With a state TTL other than "0"
    /// the message is also the channel's state. Returns `{offset, epoch}`.
    /// KEYS: stream, epoch, state. ARGV: Redis channel, max length, TTL seconds, new epoch, state
    /// TTL seconds, payload.
    static let publishHistory = """
        local epoch = redis.call('GET', KEYS[2])
        if (not epoch) or redis.call('EXISTS', KEYS[1]) == 0 then
          epoch = ARGV[4]
          redis.call('SET', KEYS[2], epoch)
        end
        local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'p', ARGV[6])
        redis.call('EXPIRE', KEYS[1], ARGV[3])
        redis.call('EXPIRE', KEYS[2], ARGV[3])
        if ARGV[5] ~= '0' then redis.call('SET', KEYS[3], ARGV[6], 'EX', ARGV[5]) end
        redis.call('PUBLISH', ARGV[1], string.sub(ARGV[6], 1, -2) .. ',"offset":"' .. id .. '","epoch":"' .. epoch .. '"}')
        return {id, epoch}
        """

    /// `publishHistory`'s SHA-1, for EVALSHA (the script's text is not sent with each publish).
    static let publishHistorySHA = sha1Hex(publishHistory)

    /// `publishHistory` for a Redis Cluster: SPUBLISH (sharded pub/sub) instead of PUBLISH.
    static let publishHistorySharded = publishHistory.replacing("redis.call('PUBLISH'", with: "redis.call('SPUBLISH'")

    /// `publishHistorySharded`'s SHA-1.
    static let publishHistoryShardedSHA = sha1Hex(publishHistorySharded)

    /// The history script for `naming` and its SHA-1.
    static func publishHistory(_ naming: RedisChannelNaming) -> (script: String, sha: String) {
        naming.sharded ? (publishHistorySharded, publishHistoryShardedSHA) : (publishHistory, publishHistorySHA)
    }

    /// Stores the state (expiring `ARGV[3]` seconds later) and publishes the message in one step.
    /// KEYS: state. ARGV: Redis channel, payload, TTL seconds.
    static let publishState = "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return redis.call('PUBLISH', ARGV[1], ARGV[2])"

    /// `publishState` for a Redis Cluster.
    static let publishStateSharded = publishState.replacing("'PUBLISH'", with: "'SPUBLISH'")

    /// The SHA-1 Redis names a script by (lowercase hex).
    static func sha1Hex(_ script: String) -> String {
        let hex: [Character] = Array("0123456789abcdef")
        return String(Insecure.SHA1.hash(data: Array(script.utf8)).flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0x0F)]] })
    }

    /// Reads a channel's history: `{epoch, last id, first id, entries added, length, entries}`,
    /// or an empty array when there is none.
    /// KEYS: stream, epoch. ARGV: start, end, count, "1" for newest first.
    static let readHistory = """
        local epoch = redis.call('GET', KEYS[2])
        if (not epoch) or redis.call('EXISTS', KEYS[1]) == 0 then return {} end
        local info = redis.call('XINFO', 'STREAM', KEYS[1])
        local last, first, added, length = '0-0', '', 0, 0
        for i = 1, #info, 2 do
          local key = info[i]
          if key == 'last-generated-id' then last = info[i + 1]
          elseif key == 'entries-added' then added = info[i + 1]
          elseif key == 'length' then length = info[i + 1]
          elseif key == 'first-entry' and info[i + 1] then first = info[i + 1][1] end
        end
        local entries
        if ARGV[4] == '1' then
          entries = redis.call('XREVRANGE', KEYS[1], ARGV[2], ARGV[1], 'COUNT', ARGV[3])
        else
          entries = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', ARGV[3])
        end
        return {epoch, last, first, added, length, entries}
        """

    /// Adds or refreshes presence entries. KEYS: entries, expiry. ARGV: expiry time (ms),
    /// TTL seconds, then socket and entry JSON pairs.
    static let presenceAdd = """
        for i = 3, #ARGV, 2 do
          redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
          redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
        end
        redis.call('EXPIRE', KEYS[1], ARGV[2])
        redis.call('EXPIRE', KEYS[2], ARGV[2])
        return 1
        """

    /// Removes presence entries. KEYS: entries, expiry. ARGV: sockets.
    static let presenceRemove = """
        for i = 1, #ARGV do
          redis.call('HDEL', KEYS[1], ARGV[i])
          redis.call('ZREM', KEYS[2], ARGV[i])
        end
        return 1
        """

    /// Drops expired presence entries and returns the rest as `HGETALL` does.
    /// KEYS: entries, expiry. ARGV: now (ms).
    static let presenceList = """
        local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
        for _, socket in ipairs(expired) do redis.call('HDEL', KEYS[1], socket) end
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
        return redis.call('HGETALL', KEYS[1])
        """
}

import Synchronization

/// Per-message deflate (RFC 7692), as Switchboard offers it: always without context takeover in
/// both directions, so that no socket keeps a compressor's state (memory per idle socket stays
/// small) and one compressed frame per message can be shared by every socket.
package struct PerMessageDeflate: Sendable, Equatable {
    /// The `Sec-WebSocket-Extensions` value of the response.
    package let responseHeader: String
    /// `false` when the client limited our window below 15 bits: then we send plain frames
    /// (always allowed) rather than keep compressors of other sizes.
    package let compressesOutgoing: Bool

    /// Picks the first acceptable `permessage-deflate` offer from the request's
    /// `Sec-WebSocket-Extensions` values; `nil` when there is none.
    package static func negotiate(offers headerValues: [String]) -> PerMessageDeflate? {
        for value in headerValues {
            for offer in value.split(separator: ",") {
                if let accepted = accept(offer) { return accepted }
            }
        }
        return nil
    }

    private static func accept(_ offer: Substring) -> PerMessageDeflate? {
        let parts = offer.split(separator: ";").map { $0.trimmingCharacters(in: " \t") }
        guard parts.first == "permessage-deflate" else { return nil }
        var seen = Set<String>()
        var serverWindow: Int? = nil
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " \t\"") }
            let name = pair[0]
            guard seen.insert(name).inserted else { return nil }
            let value = pair.count > 1 ? pair[1] : nil
            switch name {
            case "server_no_context_takeover", "client_no_context_takeover":
                guard value == nil else { return nil }
            case "server_max_window_bits":
                guard let value, let bits = Int(value), (8...15).contains(bits) else { return nil }
                serverWindow = bits
            case "client_max_window_bits":
                if let value {
                    guard let bits = Int(value), (8...15).contains(bits) else { return nil }
                }
            default:
                return nil
            }
        }
        var header = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        if let serverWindow { header += "; server_max_window_bits=\(serverWindow)" }
        return PerMessageDeflate(responseHeader: header, compressesOutgoing: (serverWindow ?? 15) == 15)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let scalars = Set(set.unicodeScalars)
        var view = Substring(self).unicodeScalars
        while let first = view.first, scalars.contains(first) { view.removeFirst() }
        while let last = view.last, scalars.contains(last) { view.removeLast() }
        return String(view)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        String(self).trimmingCharacters(in: set)
    }
}

/// Compressors and decompressors shared by every socket of the node: taken for one message and
/// given back, so their number follows the threads using them, not the sockets.
package final class DeflateCodecs: Sendable {
    /// Messages shorter than this are sent uncompressed.
    package let minimumSize: Int
    private let level: Int32
    private let deflaters = Mutex<[MessageDeflaterBox]>([])
    private let inflaters = Mutex<[MessageInflaterBox]>([])

    package init(level: Int32 = 1, minimumSize: Int = 256) {
        self.level = level
        self.minimumSize = minimumSize
    }

    package func withDeflater<R>(_ body: (MessageDeflater) -> R) -> R {
        let box = deflaters.withLock { $0.popLast() } ?? MessageDeflaterBox(MessageDeflater(level: level))
        defer { deflaters.withLock { $0.append(box) } }
        return body(box.deflater)
    }

    package func withInflater<R>(_ body: (MessageInflater) throws -> R) rethrows -> R {
        let box = inflaters.withLock { $0.popLast() } ?? MessageInflaterBox(MessageInflater())
        defer { inflaters.withLock { $0.append(box) } }
        return try body(box.inflater)
    }
}

/// A codec moves between threads only through the pool, and is used by one thread at a time.
package final class MessageDeflaterBox: @unchecked Sendable {
    package let deflater: MessageDeflater
    package init(_ deflater: MessageDeflater) { self.deflater = deflater }
}

package final class MessageInflaterBox: @unchecked Sendable {
    package let inflater: MessageInflater
    package init(_ inflater: MessageInflater) { self.inflater = inflater }
}

extension PerMessageDeflate {
    /// What a client offers: no context takeover either way, so each message inflates alone.
    package static let clientOffer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

    /// `true` when a server's `Sec-WebSocket-Extensions` answer accepted `clientOffer`.
    package static func serverAccepted(_ headerValues: [String]) -> Bool {
        headerValues.contains { value in
            value.split(separator: ",").contains { offer in
                let parts = offer.split(separator: ";").map { $0.trimmingCharacters(in: " \t") }
                return parts.first == "permessage-deflate" && parts.contains("server_no_context_takeover")
            }
        }
    }
}

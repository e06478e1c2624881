import CoreMetrics
import Logging
import NIOCore
import Switchboard

/// Writing frames: straight into the channel, joined per flush, or queued while the socket is
/// not writable.
extension WebSocketConnectionHandler {
    /// Writes a frame, or queues it while the socket is not writable (`OutboundQueue` decides): a
    /// frame that would pass the outbound limit closes the socket as a slow consumer before it is
    /// written. `force` bypasses the limit (control frames).
    func writeOutbound(_ frame: ByteBuffer, force: Bool = false) {
        guard state != .closed, let context else { return }
        let decision = outbound.decide(size: frame.readableBytes, channelWritable: channelWritable, force: force) {
            (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        }
        switch decision {
        case .write:
            join(frame, context: context)
            needsFlush = true
        case .queue:
            outbound.append(frame)
        case .tooMuch(let pending):
            slowConsumer(pending: pending)
        }
    }

    /// Adds `frame` to the frames written since the last flush, which go into the channel joined
    /// (`JoinedWrites`): a socket that gets many small frames before its flush (a burst of
    /// messages, pipelined replies) costs one channel write, not one per frame.
    func join(_ frame: ByteBuffer, context: ChannelHandlerContext) {
        if let full = joined.add(frame) {
            context.write(wrapOutboundOut(full), promise: nil)
        }
    }

    /// Hands the joined frames to the channel (unflushed).
    func writeJoined(context: ChannelHandlerContext) {
        if let pending = joined.take() {
            context.write(wrapOutboundOut(pending), promise: nil)
        }
    }

    func slowConsumer(pending: Int? = nil) {
        endpoint.metrics.slowConsumerCloses.increment()
        logger.warning(
            "slow consumer: closing",
            metadata: ["pending_bytes": "\(pending ?? outbound.bytes)", "limit": "\(endpoint.configuration.maxOutboundBytes)"]
        )
        initiateClose(code: 1008, reason: "slow consumer", keepQueued: false)
    }

    func flushIfNeeded() {
        guard needsFlush, let context else { return }
        needsFlush = false
        // One pass down the pipeline for the usual case, a socket's joined frames.
        if let pending = joined.take() {
            context.writeAndFlush(wrapOutboundOut(pending), promise: nil)
        } else {
            context.flush()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        channelWritable = context.channel.isWritable
        if channelWritable {
            // Frames joined before the queued ones go first.
            writeJoined(context: context)
            // `channelWritable` follows each write: NIO reports crossing the high-water mark
            // from inside the write, on this loop.
            while channelWritable, let frame = outbound.next() {
                context.write(wrapOutboundOut(frame), promise: nil)
                needsFlush = true
            }
            flushIfNeeded()
        }
        updateReading()
        context.fireChannelWritabilityChanged()
    }
}

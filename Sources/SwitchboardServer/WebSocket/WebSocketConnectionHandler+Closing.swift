import Foundation
import Logging
import NIOCore
import Switchboard
import SwitchboardWebSocket

/// Closing (the close handshake both ways) and the keepalive passes of a WebSocket RPC socket.
extension WebSocketConnectionHandler {
    // MARK: - Closing

    /// Answers a client's close frame with the same code and closes the connection.
    func answerClose(_ payload: ByteBuffer) {
        guard let context else { return }
        var payload = payload
        var code: UInt16 = 1000
        if payload.readableBytes >= 2, let received = payload.readInteger(as: UInt16.self) {
            let valid = (1000...1003).contains(received) || (1007...1011).contains(received) || (3000...4999).contains(received)
            code = valid ? received : 1002
            // The reason must be UTF-8 (RFC 6455 §5.5.1).
            if String(validating: payload.readableBytesView, as: UTF8.self) == nil { code = 1007 }
        } else if payload.readableBytes == 1 {
            code = 1002
        }
        state = .closing
        session?.close()
        unregister()
        writeOutbound(WebSocketFrameWriter.closeFrame(code: code, reason: ""), force: true)
        flushIfNeeded()
        context.close(promise: nil)
    }

    /// Sends a close frame and waits (bounded) for the client's; `keepQueued` sends what is
    /// already queued first (a shutdown), otherwise the queue is dropped (an error).
    func initiateClose(code: UInt16, reason: String, keepQueued: Bool) {
        guard state == .open, let context else { return }
        state = .closing
        fragments = nil
        session?.close()
        unregister()
        if !keepQueued {
            outbound.removeAll()
        }
        logger.debug("closing", metadata: ["code": "\(code)", "reason": "\(reason)"])
        writeOutbound(WebSocketFrameWriter.closeFrame(code: code, reason: reason), force: true)
        needsFlush = true
        flushIfNeeded()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        closeTimer = context.eventLoop.scheduleTask(in: endpoint.configuration.closeTimeout) {
            loopBound.value.context?.close(promise: nil)
        }
    }

    // MARK: - Keepalive

    /// How long a client has to answer a keepalive call: one keepalive interval.
    var keepaliveTimeout: TimeAmount { endpoint.configuration.pingInterval ?? .seconds(30) }

    func keepaliveTick() {
        guard state == .open, let context else { return }
        if let session, !session.expiryPass(wallClock: Date().timeIntervalSince1970, grace: endpoint.configuration.refreshGrace) {
            logger.info("token expired and no new one came: closing")
            return initiateClose(code: 4001, reason: "token expired", keepQueued: false)
        }
        if let method = endpoint.codec.keepaliveMethod, let session {
            if !session.keepalive(method: method, timeout: keepaliveTimeout) {
                logger.info("no answer to the keepalive call: closing the connection", metadata: ["method": "\(method)"])
                initiateClose(code: 1000, reason: "no answer to \(method)", keepQueued: false)
            }
            return
        }
        switch pings.pass() {
        case .nothing:
            return
        case .dead:
            logger.info("no answer to ping: dropping the connection")
            context.close(promise: nil)
        case .ping:
            writeOutbound(WebSocketFrameWriter.frame(WebSocketFrameWriter.makePayloadBuffer(capacity: 0), opcode: .ping), force: true)
            flushIfNeeded()
        }
    }
}

import Logging
public import NIOCore

/// The node's calls to the client (wsrpc and JSON-RPC clients have methods of their own), the
/// keepalive call, and messages outside replies.
extension RPCSession {
    /// Calls `method` on the client; `request` is the sequence of the request whose method
    /// calls, which leaves the order. The future fails with an `RPCError` when the client
    /// answers with an error, not within `timeout`, or the connection closes.
    func startCall(_ method: String, params: JSONValue, timeout: TimeAmount, from request: UInt64?) -> EventLoopFuture<JSONValue> {
        eventLoop.preconditionInEventLoop()
        guard !closed else { return eventLoop.makeFailedFuture(RPCError.connectionClosed) }
        guard codec.firstCallSerial != nil else {
            return eventLoop.makeFailedFuture(RPCError(code: RPCError.Code.clientCannotBeCalled, message: "the \(codec.name) protocol has no calls to the client"))
        }
        guard calls.hasRoom else {
            return eventLoop.makeFailedFuture(RPCError(
                code: RPCError.Code.tooManyClientCalls,
                message: "too many calls to the client in flight (at most \(calls.limit) per socket)"
            ))
        }
        let serial = calls.nextCallSerial()
        let promise = eventLoop.makePromise(of: JSONValue.self)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let timer = eventLoop.scheduleTask(in: timeout) { bound.value.callTimedOut(serial: serial, after: timeout) }
        calls.add(PendingCall(method: method, promise: promise, timer: timer), serial: serial)
        var buffer = makeBuffer()
        codec.encodeCall(serial: serial, method: method, params: params, into: &buffer)
        send(buffer)
        flush()
        if let request { detach(request) }
        return promise.futureResult
    }

    private func callTimedOut(serial: Int, after timeout: TimeAmount) {
        guard let call = calls.remove(serial: serial) else { return }
        logger.info("the client did not answer a call in time", metadata: ["method": "\(call.method)", "serial": "\(serial)"])
        call.promise.fail(RPCError(
            code: RPCError.Code.clientTimeout,
            message: "the client did not answer \(call.method) within \(Double(timeout.nanoseconds) / 1e9) s"
        ))
    }

    /// One keepalive pass of a protocol whose keepalive is a call (wsrpc's `ping {"seq": <time>}`):
    /// calls `method` unless the previous keepalive call is still waiting. Returns `false` when
    /// that call has waited `timeout` or longer (the transport then drops the connection), so a
    /// client always has at least `timeout` to answer. No timer: the passes are the clock.
    public func keepalive(method: String, timeout: TimeAmount, now: NIODeadline = .now()) -> Bool {
        eventLoop.preconditionInEventLoop()
        guard !closed, codec.firstCallSerial != nil else { return true }
        switch calls.keepalivePass(now: now, timeout: timeout) {
        case .wait:
            return true
        case .expired:
            return false
        case .send(let serial):
            var buffer = makeBuffer()
            let seconds = Double(now.uptimeNanoseconds) / 1e9
            codec.encodeCall(serial: serial, method: method, params: ["seq": .number(JSONNumber(seconds))], into: &buffer)
            send(buffer)
            flush()
            return true
        }
    }

    /// The client answered the node's call `serial`.
    func answered(serial: Int, outcome: Result<JSONValue, RPCError>) {
        switch calls.answer(serial: serial) {
        case .keepalive:
            if case .failure(let error) = outcome { logger.debug("the client answered the keepalive with an error", metadata: ["error": "\(error)"]) }
        case .unknown:
            logger.debug("answer to no pending call ignored", metadata: ["serial": "\(serial)"])
        case .call(let call):
            call.timer.cancel()
            switch outcome {
            case .success(let value): call.promise.succeed(value)
            case .failure(let error): call.promise.fail(error)
            }
        }
    }

    // MARK: - Messages outside replies

    /// Sends a notification (see `RPCSocket.notify`): a JSON-RPC notification, a wsrpc or
    /// `/stream` event `{"event": method, "data": params}`.
    public func sendNotification(method: String, params: JSONValue) {
        guard !closed else { return }
        var buffer = makeBuffer()
        codec.encodeNotification(method: method, params: params, into: &buffer)
        send(buffer)
        flush()
    }

    /// Sends an event object (see `RPCSocket.emit`).
    func sendEvent(_ event: JSONObject) {
        guard !closed else { return }
        var buffer = makeBuffer()
        codec.encodeEvent(event, into: &buffer)
        send(buffer)
        flush()
    }

    /// Sends one channel message in the protocol's format.
    func sendChannelMessage(channel: String, event: String?, rawData: ByteBuffer) {
        guard !closed else { return }
        var buffer = makeBuffer()
        ChannelMessageText.write(format: codec.messageFormat, channel: channel, event: event, rawData: rawData, into: &buffer)
        send(buffer)
        flush()
    }
}

import CoreMetrics
import Logging
import NIOCore

/// Running requests: in order (`/stream`, batches) or each on its own, and their replies.
extension RPCSession {
    // MARK: - Running requests

    func context(for request: RPCIncomingRequest, sequence: UInt64?) -> RPCContext {
        // The connection's shared parts are made once per identity.
        let shared: RPCContext.Shared
        if let cached = contextShared {
            shared = cached
        } else {
            shared = RPCContext.Shared(socketID: socketID, hub: hub, eventLoop: eventLoop, logger: logger, router: router, identity: identity, access: access, forwardedHeaders: forwardedHeaders)
            contextShared = shared
        }
        return RPCContext(
            shared: shared,
            socket: RPCSocket(id: socketName, protocolName: codec.name, link: link, request: sequence),
            address: request.address,
            method: request.method
        )
    }

    /// Runs a request whose reply goes out as soon as it is ready.
    func runUnordered(_ request: RPCIncomingRequest, _ entry: RPCRouter.Entry) {
        unordered += 1
        let context = context(for: request, sequence: nil)
        let startedAt = NIODeadline.now()
        let session = NIOLoopBound(self, eventLoop: eventLoop)
        invoke(entry, params: request.params, context: context) { result in
            // A task only for a method that answers on another thread (see `runInOrder`).
            if session.eventLoop.inEventLoop {
                session.value.completeUnordered(result: consume result, context: context, startedAt: startedAt)
            } else {
                session.eventLoop.execute { session.value.completeUnordered(result: result, context: context, startedAt: startedAt) }
            }
        }
    }

    func completeUnordered(result: consuming Result<RawJSON, any Error>, context: RPCContext, startedAt: NIODeadline) {
        metrics.rpcLatency.recordNanoseconds((NIODeadline.now() - startedAt).nanoseconds)
        guard !closed else { return }
        let wasFull = !hasCapacity
        unordered -= 1
        if let reply = encodeReply(consume result, context: context) {
            send(reply)
            flush()
        }
        if wasFull, hasCapacity, !closed { onCapacityAvailable?() }
    }

    func pump(wasFull: Bool? = nil) {
        if pumping {
            pumpAgain = true
            return
        }
        pumping = true
        let wasFull = wasFull ?? !hasCapacity
        repeat {
            pumpAgain = false
            startRunnable()
            sendReady()
        } while pumpAgain && !closed
        pumping = false
        if wasFull, hasCapacity, !closed { onCapacityAvailable?() }
    }

    func startRunnable() {
        while started < slots.count, !closed {
            let index = started
            guard case .waiting = slots[index].state else {
                started += 1
                continue
            }
            let sequential = slots[index].sequential
            if sequential ? running > 0 : runningSequential > 0 { return }
            // The request moves out of its slot (swapped in place, not copied: no reference counting).
            var state = SlotState.running
            swap(&state, &slots[index].state)
            guard case .waiting(let request, let entry) = consume state else { continue }
            running += 1
            if sequential { runningSequential += 1 }
            let sequence = firstSequence + UInt64(started)
            started += 1
            runInOrder(request, entry, sequence: sequence, sequential: sequential)
        }
    }

    func sendReady() {
        var wrote = false
        while !closed, !slots.isEmpty {
            if case .waiting = slots[0].state { break }
            if case .running = slots[0].state { break }
            // The slot's state moves out (no copy of its reply, so the writer owns the reply's
            // buffer and frames it in place); sending may close the session (a write that fails
            // closes the channel, whose inactivity empties `slots`).
            var state = SlotState.running
            swap(&state, &slots[0].state)
            let batch = slots.removeFirst().batch
            firstSequence += 1
            started -= 1
            guard case .ready(let ready) = consume state else { continue }
            if let batch {
                if var reply = ready {
                    if batch.bytes + reply.readableBytes > configuration.maxReplyBytes {
                        reply = tooLarge(reply, batch: true)
                    }
                    batch.bytes += reply.readableBytes
                    batch.replies.append(reply)
                }
                batch.remaining -= 1
                if batch.remaining == 0, !batch.replies.isEmpty {
                    var buffer = makeBuffer()
                    codec.encodeBatch(batch.replies, into: &buffer)
                    send(buffer)
                    wrote = true
                }
            } else if let reply = consume ready {
                send(reply)
                wrote = true
            }
        }
        if wrote, !closed { flush() }
    }

    func runInOrder(_ request: RPCIncomingRequest, _ entry: RPCRouter.Entry, sequence: UInt64, sequential: Bool) {
        let context = context(for: request, sequence: sequence)
        let startedAt = NIODeadline.now()
        // One callback per request: the session is reached from it on its loop, at once when
        // the method answers there (the broker does), else in a task made only then.
        let session = NIOLoopBound(self, eventLoop: eventLoop)
        invoke(entry, params: request.params, context: context) { result in
            if session.eventLoop.inEventLoop {
                // Handed over: the reply is written around a result in its own buffer, in place.
                session.value.complete(sequence: sequence, sequential: sequential, result: consume result, context: context, startedAt: startedAt)
            } else {
                session.eventLoop.execute {
                    session.value.complete(sequence: sequence, sequential: sequential, result: result, context: context, startedAt: startedAt)
                }
            }
        }
    }

    /// Calls the method and hands its result to `completion`, on whatever thread the method
    /// answers: a raw method (`publish`) calls it directly, the others through their future.
    func invoke(_ entry: RPCRouter.Entry, params: RPCParams, context: RPCContext, completion: @escaping @Sendable (consuming Result<RawJSON, any Error>) -> Void) {
        if entry.takesParams == nil, let raw = entry.raw {
            let payload: ByteBuffer?
            switch params {
            case .object(let text): payload = text
            case .none: payload = ByteBuffer(staticString: "{}")
            case .array, .value: payload = nil
            }
            if let payload { return raw.callRaw(payload: payload, context: context, completion: completion) }
        }
        invoke(entry, params: params, context: context).whenComplete { result in completion(result) }
    }

    /// Calls the method with its parameters in the form it takes.
    func invoke(_ entry: RPCRouter.Entry, params: RPCParams, context: RPCContext) -> EventLoopFuture<RawJSON> {
        if let method = entry.takesParams {
            return method.call(params: params, context: context).map { RawJSON($0) }
        }
        if let raw = entry.raw {
            switch params {
            case .object(let text): return raw.callRaw(payload: text, context: context)
            case .none: return raw.callRaw(payload: ByteBuffer(staticString: "{}"), context: context)
            case .array, .value: break
            }
        }
        do {
            let payload = try params.byName(entry.method.parameterNames)
            return entry.method.call(payload: payload, context: context).map { RawJSON($0) }
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func complete(sequence: UInt64, sequential: Bool, result: consuming Result<RawJSON, any Error>, context: RPCContext, startedAt: NIODeadline) {
        metrics.rpcLatency.recordNanoseconds((NIODeadline.now() - startedAt).nanoseconds)
        guard !closed else { return }
        let reply = encodeReply(consume result, context: context)
        if !detached.isEmpty, detached.remove(sequence) != nil {
            if let reply {
                send(reply)
                flush()
            }
            return
        }
        running -= 1
        if sequential { runningSequential -= 1 }
        let index = Int(sequence - firstSequence)
        slots[index].state = .ready(consume reply)  // ends here: the writer then owns the buffer alone
        pump()
    }

    /// The reply to a request's result (`nil` for a notification, which gets none). A result in a
    /// buffer of its own, with room in front (`RPCReply.resultHeadroom`), gets its reply written
    /// around it there: no second buffer, no copy.
    func encodeReply(_ result: consuming Result<RawJSON, any Error>, context: RPCContext) -> ByteBuffer? {
        switch consume result {
        case .success(let response):
            guard context.address.rawID != nil else { return nil }
            var buffer = (consume response).bytes
            if !codec.encodeResult(around: &buffer, for: context.address) {
                let result = RawJSON(unchecked: buffer)
                buffer = makeBuffer()
                codec.encodeResult(result, for: context.address, into: &buffer)
            }
            if buffer.readableBytes > configuration.maxReplyBytes {
                context.logger.warning("reply too large: answered with an error", metadata: ["bytes": "\(buffer.readableBytes)", "limit": "\(configuration.maxReplyBytes)"])
                return encodeError(.replyTooLarge(limit: configuration.maxReplyBytes, batch: false), for: context.address)
            }
            return buffer
        case .failure(let error):
            let rpcError = Self.rpcError(for: error, logger: context.logger)
            metrics.rpcError(Self.kind(of: error))
            guard context.address.rawID != nil else { return nil }
            return encodeError(rpcError, for: context.address)
        }
    }

    /// Takes the request at `sequence` out of the order, if it is running (a method that calls
    /// its client); its reply is then sent as soon as it is ready. Requests of a batch stay.
    func detach(_ sequence: UInt64) {
        guard sequence >= firstSequence else { return }
        let offset = Int(sequence - firstSequence)
        guard offset < slots.count else { return }
        let index = offset
        guard case .running = slots[index].state, slots[index].batch == nil else { return }
        slots[index].state = .detached
        detached.insert(sequence)
        running -= 1
        if slots[index].sequential { runningSequential -= 1 }
        pump()
    }

    /// The error that replaces a batch entry's reply once the batch's replies pass the bound
    /// (`reply` is that entry's reply; its id is read back from it).
    func tooLarge(_ reply: ByteBuffer, batch: Bool) -> ByteBuffer {
        logger.warning("batch replies too large: an entry answered with an error", metadata: ["limit": "\(configuration.maxReplyBytes)"])
        let id = (try? reply.withUnsafeReadableBytes { try JSONParser.parse($0) })?["id"]
        return encodeError(.replyTooLarge(limit: configuration.maxReplyBytes, batch: batch), for: RPCReplyAddress(rawID: id?.jsonBytes))
    }

    func encodeError(_ error: RPCError, for address: RPCReplyAddress?) -> ByteBuffer {
        var buffer = makeBuffer()
        codec.encodeError(error, for: address, into: &buffer)
        return buffer
    }
}

import NIOCore
import Synchronization

/// What the sockets of one event loop share: the keepalive timer and the flush pass. Touched
/// only on that loop.
final class LoopServices {
    let keeper: ConnectionKeeper?
    let flusher: FlushScheduler

    init(eventLoop: any EventLoop, pingInterval: TimeAmount?) {
        keeper = pingInterval.map { ConnectionKeeper(eventLoop: eventLoop, interval: $0) }
        flusher = FlushScheduler(eventLoop: eventLoop)
    }
}

/// The `LoopServices` of every event loop of a node, made on first use.
final class LoopServicesRegistry: Sendable {
    private let pingInterval: TimeAmount?
    private let services = Mutex<[ObjectIdentifier: LoopServicesBox]>([:])

    init(pingInterval: TimeAmount?) {
        self.pingInterval = pingInterval
    }

    /// The services of `eventLoop` (call on that loop).
    func services(for eventLoop: any EventLoop) -> LoopServices {
        eventLoop.preconditionInEventLoop()
        let key = ObjectIdentifier(eventLoop)
        return services.withLock { services in
            if let box = services[key] { return box.services }
            let box = LoopServicesBox(LoopServices(eventLoop: eventLoop, pingInterval: pingInterval))
            services[key] = box
            return box.services
        }
    }
}

/// The services are only touched on their own loop (checked with `preconditionInEventLoop`).
private final class LoopServicesBox: @unchecked Sendable {
    let services: LoopServices
    init(_ services: LoopServices) { self.services = services }
}

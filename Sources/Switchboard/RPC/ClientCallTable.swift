import NIOCore

/// The node's calls to one client waiting for their answers: serials in the protocol's numbering
/// (wsrpc 2, 4, 6…; JSON-RPC 0, 1, 2…), a bound on how many wait at once, and the keepalive call,
/// which is tracked apart (it has no waiter and no timer: the keepalive passes are its clock).
/// Pure: what waits is a value of the caller's (`Call`); no I/O, no timers.
struct ClientCallTable<Call> {
    /// Most calls that may wait at once.
    let limit: Int
    private let step: Int
    private var nextSerial: Int
    private var waiting: [Int: Call] = [:]
    /// The keepalive call waiting for its answer: its serial and when it was sent.
    private var keepalive: (serial: Int, sent: NIODeadline)?

    /// What an answer from the client was for.
    enum Answer {
        /// A call of the node's: its waiter.
        case call(Call)
        /// The keepalive call.
        case keepalive
        /// Nothing waits for this serial (a late answer, or a client's mistake).
        case unknown
    }

    /// What a keepalive pass should do.
    enum KeepaliveStep: Equatable {
        /// Send the keepalive call with this serial.
        case send(serial: Int)
        /// The previous one is still waiting, within its time.
        case wait
        /// The previous one waited `timeout` or longer: the connection is dead.
        case expired
    }

    init(firstSerial: Int, step: Int, limit: Int) {
        self.nextSerial = firstSerial
        self.step = step
        self.limit = limit
    }

    /// Number of calls waiting (the keepalive call not counted).
    var count: Int { waiting.count }

    /// `true` when another call may start.
    var hasRoom: Bool { waiting.count < limit }

    /// A serial for a new call.
    mutating func nextCallSerial() -> Int {
        defer { nextSerial += step }
        return nextSerial
    }

    /// Records `call` as waiting under `serial`.
    mutating func add(_ call: Call, serial: Int) {
        waiting[serial] = call
    }

    /// Takes the call waiting under `serial` (a timeout), if any.
    mutating func remove(serial: Int) -> Call? {
        waiting.removeValue(forKey: serial)
    }

    /// The client answered `serial`.
    mutating func answer(serial: Int) -> Answer {
        if serial == keepalive?.serial {
            keepalive = nil
            return .keepalive
        }
        return waiting.removeValue(forKey: serial).map(Answer.call) ?? .unknown
    }

    /// One keepalive pass at `now`: a new call unless the previous one still waits.
    mutating func keepalivePass(now: NIODeadline, timeout: TimeAmount) -> KeepaliveStep {
        if let previous = keepalive { return now - previous.sent < timeout ? .wait : .expired }
        let serial = nextCallSerial()
        keepalive = (serial, now)
        return .send(serial: serial)
    }

    /// Takes every waiting call (the connection closed).
    mutating func removeAll() -> [Call] {
        defer { waiting.removeAll() }
        return Array(waiting.values)
    }
}

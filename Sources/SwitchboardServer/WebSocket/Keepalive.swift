/// A socket's keepalive by WebSocket pings, one pass at a time (one timer per event loop drives
/// every socket's passes): a socket that sent anything since the last pass is alive; one that
/// sent nothing gets a ping; one that has not answered the previous ping by the next pass is
/// dead. Pure.
struct Keepalive {
    /// What a pass does.
    enum Step: Equatable {
        /// Nothing: the socket was heard from.
        case nothing
        /// Send a ping.
        case ping
        /// The ping went unanswered a whole interval: drop the connection.
        case dead
    }

    private var heard = false
    private var awaitingPong = false

    /// Anything came from the client (a pong, a message, a frame).
    mutating func heardFromClient() {
        heard = true
        awaitingPong = false
    }

    /// One keepalive pass.
    mutating func pass() -> Step {
        if awaitingPong { return .dead }
        if heard {
            heard = false
            return .nothing
        }
        awaitingPong = true
        return .ping
    }
}

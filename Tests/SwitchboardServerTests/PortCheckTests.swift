import Glibc
import NIOCore
import NIOPosix
import SwitchboardProcesses
import SwitchboardServer
import Testing

/// `serve`'s check of its address before it starts: it finds a taken port, and it never
/// accepts a connection (a client that connects meanwhile is refused, not left waiting).
@Suite("Port check")
struct PortCheckTests {
    /// Connects to `port` on 127.0.0.1 and returns `connect`'s errno (0 when it connected).
    func connectErrno(_ port: Int) throws -> CInt {
        let descriptor = socket(AF_INET, CInt(SOCK_STREAM.rawValue), 0)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let result = address.withSockAddr { connect(descriptor, $0, socklen_t($1)) }
        return result == 0 ? 0 : errno
    }

    @Test("while the address is checked, a client that connects is refused (nothing accepts it)")
    func refusesWhileChecking() throws {
        let port = try PortReservation.freePort()
        let bound = try PortCheck.Bound(SocketAddress(ipAddress: "127.0.0.1", port: port))
        #expect(try connectErrno(port) == ECONNREFUSED)
        bound.close()
        // And the port is free again afterwards.
        try PortCheck.check(host: "127.0.0.1", port: port)
    }

    @Test("a port another server listens on is reported in use")
    func takenPort() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        #expect {
            try PortCheck.check(host: "127.0.0.1", port: port)
        } throws: { error in
            (error as? IOError)?.errnoCode == EADDRINUSE
        }
        try await server.close()
        try PortCheck.check(host: "127.0.0.1", port: port)
    }

    @Test("an address the machine does not have is reported as such")
    func foreignAddress() throws {
        #expect {
            try PortCheck.check(host: "192.0.2.1", port: 9)
        } throws: { error in
            (error as? IOError)?.errnoCode == EADDRNOTAVAIL
        }
    }
}

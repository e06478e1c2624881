#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import NIOCore

/// Whether a node can listen on its address, asked before it starts: a taken port is then the
/// one line the node says, before any service starts (and logs its shutdown).
///
/// The address is bound and let go, never listened on: a client that connects in that instant
/// is refused, and tries again. A check that listened (a server bootstrap bound and closed)
/// accepted such a client into a connection that nothing served or closed, where it waited
/// for ever (seen as a TLS test that hung while its node started).
public enum PortCheck {
    /// Binds `host:port` as the server will (with SO_REUSEADDR, so that a node restarted at once,
    /// while its last connections wait in TIME_WAIT, starts) and lets it go.
    /// - Throws: `IOError` with the errno of the bind (`EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`).
    public static func check(host: String, port: Int) throws {
        try Bound(SocketAddress.makeAddressResolvingHost(host, port: port)).close()
    }

    /// A socket bound to an address and not listening: connections to it are refused.
    public struct Bound: ~Copyable {
        private let descriptor: CInt

        public init(_ address: SocketAddress) throws {
            #if canImport(Glibc)
            let type = CInt(SOCK_STREAM.rawValue)
            #else
            let type = SOCK_STREAM
            #endif
            let descriptor = socket(address.protocolFamily, type, 0)
            guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
            var one: CInt = 1
            _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
            let result = address.withSockAddr { address, size in bind(descriptor, address, socklen_t(size)) }
            guard result == 0 else {
                let code = errno
                closeDescriptor(descriptor)
                throw IOError(errnoCode: code, reason: "bind")
            }
            self.descriptor = descriptor
        }

        /// Lets the address go.
        public consuming func close() {
            let descriptor = self.descriptor
            discard self
            closeDescriptor(descriptor)
        }

        deinit {
            closeDescriptor(descriptor)
        }
    }
}

private func closeDescriptor(_ descriptor: CInt) {
    _ = close(descriptor)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import NIOCore
import SwitchboardProcesses

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

    /// A socket bound to an address and not listening (`BoundSocket`): connections to it are
    /// refused.
    public struct Bound: ~Copyable {
        private let descriptor: CInt

        /// - Throws: `IOError` with the errno of the bind.
        public init(_ address: SocketAddress) throws {
            do {
                descriptor = try address.withSockAddr { pointer, size in
                    try BoundSocket.make(family: Int32(address.protocol.rawValue), address: pointer, length: socklen_t(size))
                }
            } catch let failure as BindFailure {
                throw IOError(errnoCode: failure.errno, reason: failure.call)
            }
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

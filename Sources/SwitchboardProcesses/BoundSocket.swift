#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// TCP sockets bound to an address and not listening: connections to the address are refused
/// (as when a server is down), and no server can take it until the socket is closed. What
/// `PortReservation` holds, and what a node's port check makes.
public enum BoundSocket {
    /// A new TCP socket of `family`, with `SO_REUSEADDR` (as servers bind, so that connections
    /// left in TIME_WAIT do not count), bound to `address`.
    /// - Returns: its descriptor, which the caller closes.
    /// - Throws: `BindFailure` with the errno of `socket` or `bind` (the socket is closed).
    public static func make(family: Int32, address: UnsafePointer<sockaddr>, length: socklen_t) throws(BindFailure) -> Int32 {
        #if canImport(Glibc)
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(family, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw BindFailure(errno: errno, call: "socket") }
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(descriptor, address, length) == 0 else {
            let code = errno
            close(descriptor)
            throw BindFailure(errno: code, call: "bind")
        }
        return descriptor
    }
}

/// A socket could not be made or bound.
public struct BindFailure: Error, CustomStringConvertible {
    /// The `errno` of the failed call.
    public let errno: Int32
    /// `socket` or `bind`.
    public let call: String

    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

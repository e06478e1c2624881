#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback port held by a bound socket that does not listen: connections to it are refused
/// (as when a server is down) and no other test can take the port until `release()`.
public final class PortReservation: @unchecked Sendable {
    /// The reserved port.
    public let port: Int
    private var descriptor: Int32

    /// Reserves a free port (`port` 0) or the given one.
    public init(port requested: Int = 0) throws {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(requested).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address -> Int32 in
                guard bind(descriptor, address, length) == 0 else { return -1 }
                return getsockname(descriptor, address, &length)
            }
        }
        guard bound == 0 else {
            close(descriptor)
            throw NoFreePort(description: "cannot reserve a port: \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// A free port the kernel picks (another process could take it before use).
    public static func freePort() throws -> Int {
        let reservation = try PortReservation()
        reservation.release()
        return reservation.port
    }

    /// A free port below the kernel's ephemeral range, so that no process binding port 0 (other
    /// tests running in parallel) can take it before the server that will use it starts.
    public static func freePortOutsideEphemeralRange() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000..<32_000)
            if let reservation = try? PortReservation(port: candidate) {
                reservation.release()
                return candidate
            }
        }
        throw NoFreePort(description: "no free port between 20000 and 32000")
    }

    /// Listens on the port, as a foreign server holding it would (connections then wait in its
    /// backlog, unanswered): a server that binds with `SO_REUSEADDR` shares a port only bound.
    public func listen() {
        guard descriptor >= 0 else { return }
        #if canImport(Glibc)
        _ = Glibc.listen(descriptor, 4)
        #else
        _ = Darwin.listen(descriptor, 4)
        #endif
    }

    /// Frees the port (for a server about to start on it).
    public func release() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
    }

    deinit {
        release()
    }
}

/// No port could be reserved.
public struct NoFreePort: Error, CustomStringConvertible {
    public let description: String
}


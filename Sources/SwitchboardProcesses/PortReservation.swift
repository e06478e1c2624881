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
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(requested).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address -> Result<Int32, BindFailure> in
                do throws(BindFailure) {
                    let descriptor = try BoundSocket.make(family: AF_INET, address: address, length: length)
                    _ = getsockname(descriptor, address, &length)
                    return .success(descriptor)
                } catch {
                    return .failure(error)
                }
            }
        }
        switch bound {
        case .success(let descriptor): self.descriptor = descriptor
        case .failure(let failure): throw NoFreePort(description: "cannot reserve a port: \(failure)")
        }
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


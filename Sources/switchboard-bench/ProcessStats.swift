#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// CPU time and resident memory of a process, read from /proc (Linux).
struct ProcessStats: Sendable {
    /// User-space CPU time in microseconds.
    var userMicroseconds: Double
    /// Kernel (system) CPU time in microseconds.
    var systemMicroseconds: Double
    /// User + system CPU time in microseconds.
    var cpuMicroseconds: Double { userMicroseconds + systemMicroseconds }
    /// Resident set size in KiB.
    var rssKiB: Double

    static func read(pid: Int32) -> ProcessStats? {
        guard let stat = readFile("/proc/\(pid)/stat"), let status = readFile("/proc/\(pid)/status") else { return nil }
        // Fields after the command name (which is in parentheses and may contain spaces).
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3); utime is field 14, stime field 15.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var rss = 0.0
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            rss = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return ProcessStats(userMicroseconds: user / ticks * 1_000_000, systemMicroseconds: system / ticks * 1_000_000, rssKiB: rss)
    }

    /// This process's own CPU time, in microseconds.
    static func ownCPUMicroseconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func micros(_ time: timeval) -> Double { Double(time.tv_sec) * 1_000_000 + Double(time.tv_usec) }
        return micros(usage.ru_utime) + micros(usage.ru_stime)
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var result = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            result += String(decoding: buffer[0..<count], as: UTF8.self)
        }
        return result
    }
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC: the same clock in every process of the machine).
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    NIODeadline.now().uptimeNanoseconds
}

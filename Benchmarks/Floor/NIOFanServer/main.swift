// nio-fan-server PORT SOCKETS ROUNDS RATE: one SwiftNIO event loop accepts SOCKETS connections,
// then ROUNDS times (RATE per second, each round at a random point of its slot) writes and
// flushes one 40-byte frame to each; prints its own CPU per write. The least a node built on NIO
// pays per delivery when every socket gets one message per tick. scripts/floor.sh runs it with
// scripts/floor/fan-sink.c.
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The process's CPU time: user and system by the kernel's tick-based split (µs), and the exact
/// run time of all its threads (µs, /proc/self/task/*/schedstat).
func cpuTimes() -> (user: Double, system: Double, runtime: Double) {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func micros(_ t: timeval) -> Double { Double(t.tv_sec) * 1e6 + Double(t.tv_usec) }
    var runtime = 0.0
    if let dir = opendir("/proc/self/task") {
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard !name.hasPrefix("."), let file = fopen("/proc/self/task/\(name)/schedstat", "r") else { continue }
            var nanoseconds: UInt64 = 0
            withUnsafeMutablePointer(to: &nanoseconds) { _ = withVaList([$0]) { vfscanf(file, "%llu", $0) } }
            fclose(file)
            runtime += Double(nanoseconds) / 1e3
        }
        closedir(dir)
    }
    return (micros(usage.ru_utime), micros(usage.ru_stime), runtime)
}

final class Fan: @unchecked Sendable {
    let loop: any EventLoop
    let sockets: Int
    let rounds: Int
    let rate: Double
    let done: EventLoopPromise<Void>
    var channels: [any Channel] = []
    var round = 0
    var start = NIODeadline.now()
    var before = (user: 0.0, system: 0.0, runtime: 0.0)
    var random = SystemRandomNumberGenerator()

    init(loop: any EventLoop, sockets: Int, rounds: Int, rate: Double) {
        self.loop = loop
        self.sockets = sockets
        self.rounds = rounds
        self.rate = rate
        self.done = loop.makePromise()
    }

    func accepted(_ channel: any Channel) {
        channels.append(channel)
        guard channels.count == sockets else { return }
        start = .now()
        before = cpuTimes()
        scheduleNext()
    }

    private func scheduleNext() {
        let at = (Double(round) + Double.random(in: 0..<1, using: &random)) / rate
        loop.scheduleTask(deadline: start + .nanoseconds(Int64(at * 1e9))) { self.writeRound() }
    }

    private func writeRound() {
        let frame = ByteBuffer(bytes: [0x81, 38] + [UInt8](repeating: 0x78, count: 38))
        for channel in channels { channel.writeAndFlush(frame, promise: nil) }
        round += 1
        if round < rounds { scheduleNext() } else { done.succeed() }
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 5, let port = Int(arguments[1]), let sockets = Int(arguments[2]),
      let rounds = Int(arguments[3]), let rate = Double(arguments[4]) else {
    print("usage: nio-fan-server PORT SOCKETS ROUNDS RATE")
    exit(64)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let fan = Fan(loop: group.next(), sockets: sockets, rounds: rounds, rate: rate)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.execute { fan.accepted(channel) }
        return channel.eventLoop.makeSucceededVoidFuture()
    }
    .bind(host: "127.0.0.1", port: port)
    .wait()
try fan.done.futureResult.wait()
let after = cpuTimes()
let writes = Double(sockets * rounds)
func twoPlaces(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
let line = "nio fan server: \(twoPlaces((after.runtime - fan.before.runtime) / writes)) µs per write (exact run time); user \(twoPlaces((after.user - fan.before.user) / writes)), system \(twoPlaces((after.system - fan.before.system) / writes)) µs (the kernel's tick split)"
print(line)
try? server.close().wait()
exit(0)

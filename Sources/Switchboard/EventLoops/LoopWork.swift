#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Something done once when the unit of work running on its thread ends: a flush of the
/// sockets written during it, for instance.
public protocol LoopWorkEnd: AnyObject {
    /// `true` while the item waits for the end of the running work (it is queued once).
    var waitsForWorkEnd: Bool { get set }
    /// The work ended: do what was queued.
    func workEnded()
}

/// The unit of work an event-loop thread is running (a read from a Redis connection, a task of
/// messages from another loop), and what is to be done once when it ends.
///
/// Sockets written during a read are flushed when the read is over, by the read itself, not
/// by a task queued for the end of the event-loop tick: the same one write per socket for
/// everything the read delivered, without the task (its lock, its queue, its closure), a cost a
/// busy tick shares among many messages and a quiet one pays for one (docs/performance.md,
/// issue 21's sixth pass).
///
/// One per thread, touched only by it (thread-local, made on first use).
public final class LoopWork {
    private var depth = 0
    private var ending = false
    private var waiting: [any LoopWorkEnd] = []
    private var finishing: [any LoopWorkEnd] = []

    private init() {}

    /// This thread's.
    public static var current: LoopWork {
        if let pointer = pthread_getspecific(loopWorkKey) {
            return Unmanaged<LoopWork>.fromOpaque(pointer).takeUnretainedValue()
        }
        let work = LoopWork()
        pthread_setspecific(loopWorkKey, Unmanaged.passRetained(work).toOpaque())
        return work
    }

    /// `true` while a unit of work runs on this thread (and has not begun ending).
    public var isRunning: Bool { depth > 0 && !ending }

    /// Runs `body` as a unit of work on this thread (or as part of the one running): what is
    /// queued with `atEnd(_:)` meanwhile is done when the outermost unit ends, thrown or not.
    public static func run<Result>(_ body: () throws -> Result) rethrows -> Result {
        let work = current
        work.depth += 1
        defer { work.end() }
        return try body()
    }

    /// Queues `item` for the end of the running work; `false` when no work is running here, or
    /// it is ending (then the caller schedules a task of its own, as without this).
    public func atEnd(_ item: any LoopWorkEnd) -> Bool {
        guard depth > 0, !ending else { return false }
        if !item.waitsForWorkEnd {
            item.waitsForWorkEnd = true
            waiting.append(item)
        }
        return true
    }

    private func end() {
        depth -= 1
        guard depth == 0, !waiting.isEmpty else { return }
        // What the items do now (writes, closes) may queue more: `atEnd` says no while ending,
        // so it takes a task of its own and this pass ends.
        ending = true
        swap(&waiting, &finishing)
        for item in finishing {
            item.waitsForWorkEnd = false
            item.workEnded()
        }
        finishing.removeAll(keepingCapacity: true)
        ending = false
    }
}

/// The thread-local slot of `LoopWork.current`; a thread's `LoopWork` is released when it exits.
private let loopWorkKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { pointer in
        #if canImport(Darwin)
        Unmanaged<LoopWork>.fromOpaque(pointer).release()
        #else
        if let pointer { Unmanaged<LoopWork>.fromOpaque(pointer).release() }
        #endif
    }
    precondition(status == 0, "pthread_key_create failed: \(status)")
    return key
}()

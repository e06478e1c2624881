import CJemalloc

/// The memory allocator the node runs on: jemalloc (Debian's libjemalloc2), linked into this
/// executable so that it serves every `malloc` of the process (the Swift runtime's, NIO's,
/// hiredis's). About 5% less CPU per delivered message than the C library's allocator on the
/// many-channels benchmark, for about 3% more resident memory per idle socket
/// (docs/performance.md, the fifth pass of issue 21). `MALLOC_CONF` tunes it, as jemalloc documents.
enum Allocator {
    /// `"jemalloc 5.3.0-…"`, read from the allocator itself: proof that it is the one linked.
    static var description: String {
        var version: UnsafePointer<CChar>? = nil
        var length = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &version, &length, nil, 0) == 0, let version else { return "unknown" }
        return "jemalloc " + String(cString: version)
    }
}

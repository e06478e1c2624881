/// A first-in, first-out queue whose elements are read and changed where they lie: a ring of
/// slots in one allocation, made on the first element and grown by doubling.
///
/// `Deque` copies an element on every read through its subscript, and a change made through its
/// subscript moves the element out and copies it back in: each retains and releases every
/// reference the element holds (a request's buffers, its method, its batch). This queue's
/// subscript addresses the element in its storage, so reading or changing one field touches
/// nothing else. It is a class owned by one object and used on one thread (an RPC session's
/// request slots), never shared, so it needs no copy-on-write either.
final class InPlaceQueue<Element> {
    /// No storage until the first element (an idle socket's session holds none).
    @exclusivity(unchecked) private var storage: UnsafeMutablePointer<Element>?
    @exclusivity(unchecked) private var capacity = 0
    /// The slot of the first element.
    @exclusivity(unchecked) private var head = 0
    /// Number of elements.
    @exclusivity(unchecked) private(set) var count = 0

    init() {}

    deinit {
        removeAll()
        storage?.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// The storage slot of the element at `offset` from the first.
    @inline(__always)
    private func slot(_ offset: Int) -> Int {
        let slot = head + offset
        return slot < capacity ? slot : slot - capacity
    }

    /// The element at `offset` from the first (0 is the oldest), in place.
    subscript(offset: Int) -> Element {
        unsafeAddress {
            precondition(offset >= 0 && offset < count, "InPlaceQueue: offset \(offset) out of 0..<\(count)")
            return UnsafePointer(storage! + slot(offset))
        }
        unsafeMutableAddress {
            precondition(offset >= 0 && offset < count, "InPlaceQueue: offset \(offset) out of 0..<\(count)")
            return storage! + slot(offset)
        }
    }

    /// Adds `element` at the end (moved in).
    func append(_ element: consuming Element) {
        if count == capacity { grow() }
        (storage! + slot(count)).initialize(to: element)
        count += 1
    }

    /// Removes the first element and returns it (moved out). The queue must not be empty.
    func removeFirst() -> Element {
        precondition(count > 0, "InPlaceQueue: removeFirst on an empty queue")
        let element = (storage! + head).move()
        head = head + 1 == capacity ? 0 : head + 1
        count -= 1
        return element
    }

    /// Removes every element; the storage is kept.
    func removeAll() {
        guard let storage else { return }
        let first = min(count, capacity - head)
        (storage + head).deinitialize(count: first)
        storage.deinitialize(count: count - first)
        head = 0
        count = 0
    }

    /// Doubles the storage (the first is one slot: a socket that sends one request at a time
    /// never needs more), moving the elements to its start in order.
    private func grow() {
        let larger = UnsafeMutablePointer<Element>.allocate(capacity: max(1, capacity * 2))
        if let storage {
            let first = min(count, capacity - head)
            larger.moveInitialize(from: storage + head, count: first)
            (larger + first).moveInitialize(from: storage, count: count - first)
            storage.deallocate()
        }
        storage = larger
        capacity = max(1, capacity * 2)
        head = 0
    }
}

import NIOCore

import Synchronization

/// The route-group instances of one socket, made on first use.
final class RouteGroupStore: Sendable {
    /// A group's instance once made, with what its first `initialize` returned.
    private typealias Made = (group: any RPCRouteGroup, initialized: JSONValue)

    private let instances = Mutex<[String: Task<Made, any Error>]>([:])
    private let closed = Atomic(false)

    /// The socket's instance of group `name`, made (and initialized) by the first caller; that
    /// caller also gets the result of `initialize`.
    func instance(
        named name: String,
        context: RPCContext,
        make: @escaping @Sendable () -> any RPCRouteGroup
    ) async throws -> (group: any RPCRouteGroup, initialized: JSONValue?) {
        let (task, created) = instances.withLock { instances -> (Task<Made, any Error>, Bool) in
            if let task = instances[name] { return (task, false) }
            let task = Task<Made, any Error> {
                let group = make()
                return (group, try await group.initialize(context: context))
            }
            instances[name] = task
            return (task, true)
        }
        do {
            let made = try await task.value
            return (made.group, created ? .some(made.initialized) : .none)
        } catch {
            // A failed initialization is forgotten: the next call tries again.
            if created { instances.withLock { $0[name] = nil } }
            throw error
        }
    }

    /// Tells every instance the socket closed.
    func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        let tasks = instances.withLock { instances in
            defer { instances = [:] }
            return Array(instances.values)
        }
        guard !tasks.isEmpty else { return }
        Task {
            for task in tasks {
                if let made = try? await task.value { await made.group.socketClosed() }
            }
        }
    }
}

/// The methods of a route group in the router: `kv` (initialize) and `kv.get`, `kv.set`….
struct RouteGroupMethod: RPCMethod {
    let group: String
    /// `nil` for the bare group name (initialize).
    let method: String?
    let make: @Sendable () -> any RPCRouteGroup

    func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        context.eventLoop.makeFutureWithTask {
            guard let store = context.socket.link?.groups else {
                throw RPCError(code: RPCError.Code.serverError, message: "\(group) needs a connection: route groups live with their socket")
            }
            let (instance, initialized) = try await store.instance(named: group, context: context, make: make)
            guard let method else {
                if let initialized { return initialized }
                return try await instance.initialize(context: context)
            }
            return try await instance.call(method, payload: payload, context: context)
        }
    }
}

extension RPCRouter {
    /// Adds a route group: `name` runs its `initialize`, `name.<method>` each of its methods, with
    /// one instance per socket, made by `make` on the socket's first call to the group.
    public mutating func register<Group: RPCRouteGroup>(
        group name: String,
        requires: MethodRequirement = .anyone,
        _ make: @escaping @Sendable () -> Group
    ) {
        register(name, requires: requires, RouteGroupMethod(group: name, method: nil, make: make))
        for method in Group.methodNames {
            register("\(name).\(method)", requires: requires, RouteGroupMethod(group: name, method: method, make: make))
        }
    }
}

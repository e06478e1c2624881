import NIOCore

import Synchronization

/// The route-group instances of one socket, made on first use.
final class RouteGroupStore: Sendable {
    private let instances = Mutex<[String: any RPCRouteGroup]>([:])
    private let closed = Atomic(false)

    /// The socket's instance of group `name`, made by `make` on the first call.
    func instance(named name: String, make: @Sendable () -> any RPCRouteGroup) -> any RPCRouteGroup {
        instances.withLock { instances in
            if let instance = instances[name] { return instance }
            let instance = make()
            instances[name] = instance
            return instance
        }
    }

    /// The socket closed: hands over every instance (once), to be told so by the hub
    /// (`Hub.run()`: the groups' `socketClosed` is `async`, the socket's teardown is not).
    func close() -> [any RPCRouteGroup] {
        guard !closed.exchange(true, ordering: .relaxed) else { return [] }
        return instances.withLock { instances in
            defer { instances = [:] }
            return Array(instances.values)
        }
    }
}

/// The methods of a route group in the router: `kv` and `kv.init` (initialize), `kv.get`,
/// `kv.set`….
struct RouteGroupMethod: RPCMethod {
    let group: String
    /// `nil` for the bare group name (initialize).
    let method: String?
    let parameterNames: [String]
    let make: @Sendable () -> any RPCRouteGroup

    func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        guard let store = context.socket.link?.groups else {
            return context.eventLoop.makeFailedFuture(
                RPCError(code: RPCError.Code.serverError, message: "\(group) needs a connection: route groups live with their socket")
            )
        }
        let instance = store.instance(named: group, make: make)
        return context.eventLoop.makeFutureWithTask {
            guard let method else { return try await instance.initialize(payload: payload, context: context) }
            return try await instance.call(method, payload: payload, context: context)
        }
    }
}

extension RPCRouter {
    /// Adds a route group: `name` and `name.init` run its `initialize`, `name.<method>` each of
    /// its methods, with one instance per socket, made by `make` on the socket's first call to
    /// the group. Methods whose names start with `_` are left out (masked).
    public mutating func register<Group: RPCRouteGroup>(
        group name: String,
        requires: MethodRequirement = .anyone,
        _ make: @escaping @Sendable () -> Group
    ) {
        let initialize = RouteGroupMethod(group: name, method: nil, parameterNames: Group.parameterNames["init"] ?? [], make: make)
        register(name, requires: requires, initialize)
        register("\(name).init", requires: requires, initialize)
        for method in Group.methodNames where !method.hasPrefix("_") && method != "init" {
            let names = Group.parameterNames[method] ?? []
            register("\(name).\(method)", requires: requires, RouteGroupMethod(group: name, method: method, parameterNames: names, make: make))
        }
        groups.insert(name)
    }
}

/// Node ids and the cluster-wide names of sockets: `<node-id>.<n>`.
public enum NodeIdentity {
    /// A short random node id (`node-` and 8 letters or digits); host names are often the same for
    /// every container of a deployment.
    public static func random() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return "node-" + String((0..<8).map { _ in alphabet.randomElement()! })
    }

    /// The cluster-wide name of socket `id` on node `nodeID`.
    public static func socketName(node nodeID: String, socket id: SocketID) -> String {
        "\(nodeID).\(id.rawValue)"
    }

    /// The node and local number of a socket name, or `nil` when it is not one.
    public static func parse(socketName name: String) -> (node: String, socket: SocketID)? {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex,
            let number = UInt64(name[name.index(after: dot)...])
        else { return nil }
        return (String(name[..<dot]), SocketID(rawValue: number))
    }

    /// `true` when `id` can name a node: 1–128 bytes of letters, digits, `-`, `_` and `.`.
    public static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128
            && id.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
    }
}

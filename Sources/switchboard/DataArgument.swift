import ArgumentParser
import Foundation
import Switchboard

/// A JSON argument given inline, as `-` (read standard input) or as `@FILE` (read a file): data
/// over the command line's length limit still goes through.
enum DataArgument {
    /// The largest input read from standard input or a file (the node's default message limit).
    static let maxBytes = 64 * 1024 * 1024

    /// The JSON text `argument` stands for.
    static func text(of argument: String, what: String) throws -> String {
        if argument == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard data.count <= maxBytes else { throw ValidationError("\(what) from standard input is over \(maxBytes) bytes") }
            return String(decoding: data, as: UTF8.self)
        }
        if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("\(what): cannot read the file \(path)")
            }
            guard data.count <= maxBytes else { throw ValidationError("\(what): \(path) is over \(maxBytes) bytes") }
            return String(decoding: data, as: UTF8.self)
        }
        return argument
    }

    /// The JSON value `argument` stands for.
    static func value(of argument: String, what: String) throws -> JSONValue {
        try parseJSON(text(of: argument, what: what), what: what)
    }
}

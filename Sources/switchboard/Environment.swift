#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation

/// Flags fall back to `SWITCHBOARD_*` environment variables, then to defaults. Every variable
/// also has a `_FILE` form naming a file that holds the value (Docker and Kubernetes secrets:
/// `SWITCHBOARD_API_KEY_FILE=/run/secrets/api_key`); a trailing newline is dropped.
enum Environment {
    static func value(_ name: String) -> String? {
        if let raw = getenv(name) {
            let value = String(cString: raw)
            return value.isEmpty ? nil : value
        }
        guard let rawPath = getenv(name + "_FILE") else { return nil }
        let path = String(cString: rawPath)
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
            FileHandle.standardError.write(Data("error: \(name)_FILE=\(path): cannot read the file\n".utf8))
            exit(78)  // EX_CONFIG
        }
        let value = contents.hasSuffix("\n") ? String(contents.dropLast()) : contents
        return value.isEmpty ? nil : value
    }

    /// The flag if given, else the environment variable parsed by `parse`, else `fallback`.
    static func resolve<T>(_ flag: T?, _ name: String, _ fallback: T, parse: (String) -> T?) throws -> T {
        if let flag { return flag }
        guard let raw = value(name) else { return fallback }
        guard let parsed = parse(raw) else {
            throw ValidationError("\(name)=\(raw) is not a valid value")
        }
        return parsed
    }

    static func resolve(_ flag: String?, _ name: String, _ fallback: String) -> String {
        flag ?? value(name) ?? fallback
    }

    static func resolve(_ flag: String?, _ name: String) -> String? {
        flag ?? value(name)
    }
}

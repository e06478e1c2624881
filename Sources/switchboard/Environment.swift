#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser

/// Flags fall back to `SWITCHBOARD_*` environment variables, then to defaults.
enum Environment {
    static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
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

import Foundation
import SwitchboardServer
import Testing

/// docs/configuration.md against the code: every `serve` flag and variable (from `serve --help`)
/// and every configuration-file key (`ConfigurationFile.keys`, the reader's own list) is
/// documented, and nothing documented is gone.
@Suite("Configuration reference")
struct ConfigurationReferenceTests {
    static func page() throws -> String {
        try String(contentsOf: CommandLineTests.repository.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
    }

    /// `switchboard serve --help`.
    static func help() throws -> String {
        let process = Process()
        let output = Pipe()
        process.executableURL = CommandLineTests.executable
        process.arguments = ["serve", "--help"]
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static func matches(_ pattern: String, in text: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        return Set(regex.matches(in: text, range: range).compactMap { Range($0.range, in: text).map { String(text[$0]) } })
    }

    @Test("every serve flag and variable is documented")
    func flagsAndVariables() throws {
        let help = try Self.help()
        let page = try Self.page()
        let flags = Self.matches(#"--[a-z][a-z0-9-]+"#, in: help).subtracting(["--help", "--version"])
        let variables = Self.matches(#"SWITCHBOARD_[A-Z_]+"#, in: help)
        #expect(flags.count > 30, "\(flags)")
        for flag in flags { #expect(page.contains("`\(flag)`"), "\(flag) is not in docs/configuration.md") }
        for variable in variables { #expect(page.contains("`\(variable)`"), "\(variable) is not in docs/configuration.md") }
        for documented in Self.matches(#"`--[a-z][a-z0-9-]+`"#, in: page) {
            let flag = String(documented.dropFirst().dropLast())
            #expect(flags.contains(flag) || ["--url", "--token", "--ca-file", "--wait"].contains(flag), "\(flag) is documented but serve has no such flag")
        }
    }

    @Test("every key of the configuration file is documented, and only those")
    func fileKeys() throws {
        let page = try Self.page()
        let documented = Self.matches(#"(?m)^\| `([a-z_]+(\[\])?(\.[a-z0-9_]+)*)` \|"#, in: page).map { row in
            String(row.dropFirst(3).prefix { $0 != "`" })
        }
        #expect(Set(documented) == Set(ConfigurationFile.keys), "documented \(Set(documented).symmetricDifference(ConfigurationFile.keys))")
    }
}

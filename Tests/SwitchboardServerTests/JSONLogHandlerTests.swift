import Testing

@testable import SwitchboardServer

/// The JSON log's timestamps, computed without C time structures.
@Suite("JSON log handler")
struct JSONLogHandlerTests {
    @Test("UTC ISO 8601 with milliseconds, leap days and the epoch included", arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (951_782_400.0, "2000-02-29T00:00:00.000Z"),
        (1_764_890_560.123, "2025-12-04T23:22:40.123Z"),
        (4_107_542_399.999, "2100-02-28T23:59:59.999Z"),
    ])
    func timestamps(_ seconds: Double, _ expected: String) {
        #expect(JSONLogHandler.timestamp(now: seconds) == expected)
    }
}

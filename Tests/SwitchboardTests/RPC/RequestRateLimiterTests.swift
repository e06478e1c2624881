import NIOCore
import Testing

@testable import Switchboard

/// The request-rate bucket, with its clock as a parameter.
@Suite("Request rate limiter")
struct RequestRateLimiterTests {
    @Test("no rate: everything passes")
    func unlimited() {
        var limiter = RequestRateLimiter(rate: nil, now: .uptimeNanoseconds(0))
        for _ in 0..<10_000 { #expect(limiter.take(now: .uptimeNanoseconds(0)) == .allowed) }
    }

    @Test("a burst of twice the rate passes, then refusals until it refills")
    func burst() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var limiter = RequestRateLimiter(rate: 5, now: start)
        for _ in 0..<10 { #expect(limiter.take(now: start) == .allowed) }
        #expect(limiter.take(now: start) == .refused)
        // 0.2 s later one token came back.
        #expect(limiter.take(now: start + .milliseconds(200)) == .allowed)
        #expect(limiter.take(now: start + .milliseconds(200)) == .refused)
    }

    @Test("a client that keeps going past a burst's worth of refusals is abusive")
    func abusive() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var limiter = RequestRateLimiter(rate: 2, now: start)
        for _ in 0..<4 { #expect(limiter.take(now: start) == .allowed) }
        for _ in 0..<4 { #expect(limiter.take(now: start) == .refused) }
        #expect(limiter.take(now: start) == .abusive)
    }

    @Test("refusals are forgiven only once the bucket is full again, not when one request slips through")
    func forgiveness() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var limiter = RequestRateLimiter(rate: 2, now: start)
        for _ in 0..<4 { _ = limiter.take(now: start) }
        for _ in 0..<3 { #expect(limiter.take(now: start) == .refused) }
        // Half a second: one token, taken at once; the refusals still count.
        #expect(limiter.take(now: start + .milliseconds(500)) == .allowed)
        #expect(limiter.take(now: start + .milliseconds(500)) == .refused)
        #expect(limiter.take(now: start + .milliseconds(500)) == .abusive)
        // Two quiet seconds fill the bucket: forgiven.
        let later = start + .seconds(3)
        #expect(limiter.take(now: later) == .allowed)
        for _ in 0..<3 { _ = limiter.take(now: later) }
        #expect(limiter.take(now: later) == .refused)
    }
}

import ArgumentParser
struct PublishCommand: AsyncParsableCommand {}
struct SubscribeCommand: AsyncParsableCommand {}
struct CallCommand: AsyncParsableCommand {}
struct BenchCommand: AsyncParsableCommand {}

import Logging
import NIOCore
import NIOSSL
import Synchronization

/// The node's TLS context, made from the certificate and key files, and made again from them on
/// SIGHUP: new connections get the new certificate, open ones keep theirs (nothing is dropped).
final class TLSContextStore: Sendable {
    private let files: SecurityConfiguration.TLSFiles
    private let context: Mutex<NIOSSLContext>

    /// Loads the files; throws an error that names the file when one cannot be read.
    init(files: SecurityConfiguration.TLSFiles) throws {
        self.files = files
        self.context = Mutex(try Self.load(files))
    }

    private static func load(_ files: SecurityConfiguration.TLSFiles) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificatePath)
        } catch {
            throw TLSFileError(description: "cannot read the TLS certificate \(files.certificatePath): \(error)")
        }
        guard !chain.isEmpty else { throw TLSFileError(description: "no certificate in \(files.certificatePath)") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem)
        } catch {
            throw TLSFileError(description: "cannot read the TLS private key \(files.privateKeyPath): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }

    /// A handler for a new connection, with the current certificate.
    func makeHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: context.withLock { $0 })
    }

    /// Reads the files again; on failure the old certificate stays (and the error is returned).
    func reload() throws {
        let fresh = try Self.load(files)
        context.withLock { $0 = fresh }
    }
}

/// A TLS file could not be used.
struct TLSFileError: Error, CustomStringConvertible {
    let description: String
}

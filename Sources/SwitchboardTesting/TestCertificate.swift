import Crypto
import Foundation
import SwiftASN1
import X509

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files for a node's
/// `--tls-cert`/`--tls-key` (and to trust, as its own authority).
public struct TestCertificate: Sendable {
    /// The certificate file (also the authority to trust).
    public let certificatePath: String
    /// The private key file.
    public let keyPath: String
    /// The certificate's serial number, to tell two certificates apart.
    public let serial: String

    /// Makes a certificate with common name `name` and writes it under `directory`.
    public static func make(in directory: String, name: String = "switchboard-test") throws -> TestCertificate {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(name) }
        let now = Date()
        let serial = Certificate.SerialNumber()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: serial,
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-60),
            notValidAfter: now.addingTimeInterval(3600),
            issuer: subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            },
            issuerPrivateKey: .init(key)
        )
        let certificatePath = "\(directory)/\(name).pem"
        let keyPath = "\(directory)/\(name)-key.pem"
        try certificate.serializeAsPEM().pemString.write(toFile: certificatePath, atomically: true, encoding: .utf8)
        try key.pemRepresentation.write(toFile: keyPath, atomically: true, encoding: .utf8)
        return TestCertificate(certificatePath: certificatePath, keyPath: keyPath, serial: "\(serial)")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes to a file descriptor without buffering, so that a pipe or a log file sees each line
/// as soon as it is written (and lines written at once by several threads do not interleave
/// within a line on an `O_APPEND` file).
public enum DescriptorOutput {
    /// Writes all of `text` to `descriptor`, retrying short writes; gives up on an error.
    public static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                #if canImport(Glibc)
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #else
                let written = Darwin.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #endif
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

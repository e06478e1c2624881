/// The version of this build of Switchboard, reported by `info`, `/metrics` and `--version`.
public enum SwitchboardVersion {
    /// The release this source tree is (semantic versioning).
    public static let current = "0.1.0"
}

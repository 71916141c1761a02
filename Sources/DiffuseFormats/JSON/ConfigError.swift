/// A configuration file or value that cannot be used: names the file (or source) and the key.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file path, or what the values came from.
    public var source: String
    /// The offending key, or nil when the whole file is unusable.
    public var key: String?
    /// What is wrong, phrased to follow the key: "should be an integer, found \"four\"".
    public var problem: String

    public init(source: String, key: String?, problem: String) {
        self.source = source
        self.key = key
        self.problem = problem
    }

    /// `source: "key" problem`, or `source problem` without a key.
    public var description: String { key.map { "\(source): \"\($0)\" \(problem)" } ?? "\(source) \(problem)" }
}

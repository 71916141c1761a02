import Foundation

/// One run of the built `diffuse` command, for the tests that check what a user sees: its exit
/// (status, or the signal that ended it) and its output.
struct CLIRun {
    var status: Int32
    /// True when a signal ended the process (a trap: SIGILL, SIGTRAP, SIGSEGV …, or a kill).
    var signaled: Bool
    var stdout: String
    var stderr: String

    /// The `diffuse` binary next to the test bundle (the build folder `swift test` ran from), else
    /// `.build/release/diffuse` of the repository.
    static let binary: URL = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("diffuse")
        return FileManager.default.isExecutableFile(atPath: beside.path) ? beside : KillResumeTests.binary
    }()

    /// A started `diffuse` process whose output goes to files in `logs` (pipes could fill up).
    static func launch(_ arguments: [String], environment: [String: String] = [:], logs: URL) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = KillResumeTests.root
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: logs.appendingPathComponent("stdout").path, contents: nil)
        _ = FileManager.default.createFile(atPath: logs.appendingPathComponent("stderr").path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: logs.appendingPathComponent("stdout"))
        process.standardError = try FileHandle(forWritingTo: logs.appendingPathComponent("stderr"))
        try process.run()
        return process
    }

    /// The result of a finished `launch`.
    static func result(_ process: Process, logs: URL) -> CLIRun {
        process.waitUntilExit()
        func text(_ name: String) -> String { (try? String(contentsOf: logs.appendingPathComponent(name), encoding: .utf8)) ?? "" }
        return CLIRun(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                      stdout: text("stdout"), stderr: text("stderr"))
    }

    /// Runs `diffuse arguments` to the end.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CLIRun {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        return result(try launch(arguments, environment: environment, logs: logs), logs: logs)
    }

    /// The `Error: …` lines of standard error.
    var errorLines: [Substring] { stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") } }

    /// Ended with a non-zero status (not a signal) and exactly one `Error:` line containing every
    /// one of `needles`.
    func failedCleanly(naming needles: String...) -> Bool { failedCleanly(naming: needles) }

    func failedCleanly(naming needles: [String]) -> Bool {
        !signaled && status != 0 && errorLines.count == 1 && needles.allSatisfy { errorLines[0].contains($0) }
    }

    var summary: String { "status \(status)\(signaled ? " (signal)" : ""); stderr: \(stderr.suffix(600))" }
}

import Foundation
import Testing

/// `make install`'s script puts `diffuse` and the bundled models under a prefix; the installed
/// binary generates from any directory without a checkout or environment variables, and a copy
/// moved elsewhere finds the models through the XDG data folders.
@Suite struct InstallTests {
    static let root = KillResumeTests.root

    func run(_ executable: URL, _ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> (status: Int32, errors: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var inherited = ProcessInfo.processInfo.environment
        inherited["XDG_DATA_DIRS"] = "/nonexistent"
        inherited["XDG_DATA_HOME"] = "/nonexistent"
        process.environment = inherited.merging(environment) { $1 }
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test func installedAndMovedBinariesFindTheBundledModel() throws {
        try #require(FileManager.default.isExecutableFile(atPath: KillResumeTests.binary.path), "build diffuse first (make test does)")
        let work = try TrainerTestSupport.temporaryFolder("install")
        defer { try? FileManager.default.removeItem(at: work) }
        let prefix = work.appendingPathComponent("prefix"), elsewhere = work.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let install = try run(URL(fileURLWithPath: "/bin/bash"), ["tools/install.sh", KillResumeTests.binary.path, prefix.path], in: Self.root)
        #expect(install.status == 0, "\(install.errors)")

        let installed = prefix.appendingPathComponent("bin/diffuse")
        let arguments = ["generate", "--prompt", "red apple", "--steps", "2", "--output", elsewhere.appendingPathComponent("a.png").path]
        let fromAnywhere = try run(installed, arguments, in: elsewhere)
        #expect(fromAnywhere.status == 0, "\(fromAnywhere.errors)")
        #expect(FileManager.default.fileExists(atPath: elsewhere.appendingPathComponent("a.png").path))

        // Moved away from its prefix: not found (the error names where it looked), then found
        // through XDG_DATA_DIRS.
        let moved = elsewhere.appendingPathComponent("diffuse")
        try FileManager.default.copyItem(at: installed, to: moved)
        let lost = try run(moved, arguments, in: elsewhere)
        #expect(lost.status != 0 && lost.errors.contains("models/emoji was not found"), "\(lost.errors)")
        let found = try run(moved, arguments, in: elsewhere, environment: ["XDG_DATA_DIRS": prefix.appendingPathComponent("share").path])
        #expect(found.status == 0, "\(found.errors)")
    }
}

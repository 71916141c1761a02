import DiffuseTraining
import Foundation
import Testing

/// The fault tests that take a real training run each: a learning rate that diverges, SIGTERM,
/// a full disk. They run with `make test-faults` (`DIFFUSE_FAULT_TESTS=1`), not in `make test`.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["DIFFUSE_FAULT_TESTS"] == "1"))
struct SlowFaultTests {
    /// A folder with the kill-resume tests' 12 coloured 16² images, and the UNet config.
    func setUp(_ name: String) throws -> (work: URL, arguments: [String]) {
        try #require(FileManager.default.isExecutableFile(atPath: CLIRun.binary.path), "\(CLIRun.binary.path) is missing")
        let work = try TrainerTestSupport.temporaryFolder(name)
        let data = work.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try TrainerTestSupport.writeDataset((0 ..< 12).map { i in ("colour \(i)", ((i * 40) % 256, (i * 90) % 256, 255 - i * 20)) },
                                            size: 16, to: data)
        let config = work.appendingPathComponent("unet.json")
        try KillResumeTests.config.write(to: config, atomically: true, encoding: .utf8)
        return (work, ["train", "--data", data.path, "--model-config", config.path, "--batch-size", "4", "--seed", "9"])
    }

    func checkpoints(_ output: URL) -> [(step: Int, folder: URL)] { TrainingCheckpoint.list(in: output.appendingPathComponent("checkpoints")) }

    /// `--lr 1e6`: the loss goes NaN within a few steps; the run stops with one line naming the
    /// step and `--lr`, exits non-zero, and every checkpoint left reads back with finite weights.
    @Test func aDivergingRunStopsAndKeepsItsCheckpoint() throws {
        let (work, arguments) = try setUp("diverge")
        defer { try? FileManager.default.removeItem(at: work) }
        let output = work.appendingPathComponent("run")
        let run = try CLIRun.run(arguments + ["--output", output.path, "--steps", "40", "--checkpoint-every", "1", "--lr", "1e6"])
        #expect(run.failedCleanly(naming: "--lr", "diverged at step"), "\(run.summary)")
        let kept = checkpoints(output)
        #expect(!kept.isEmpty && kept.count <= 2)
        for (_, folder) in kept {
            let checkpoint = try TrainingCheckpoint.read(folder)
            #expect(checkpoint.weights.values.allSatisfy { GradientClipping.globalNorm([$0]).isFinite })
        }
    }

    /// SIGTERM stops after the current step with a checkpoint, says so, and exits 143 (128 + 15),
    /// not 0 as a finished run does; `--resume` continues from that checkpoint.
    @Test func sigtermCheckpointsAndExitsNonZero() throws {
        let (work, arguments) = try setUp("sigterm")
        defer { try? FileManager.default.removeItem(at: work) }
        let output = work.appendingPathComponent("run")
        let process = try CLIRun.launch(arguments + ["--output", output.path, "--steps", "100000", "--checkpoint-every", "5"], logs: work)
        let limit = Date().addingTimeInterval(120)
        while checkpoints(output).isEmpty && process.isRunning && Date() < limit { usleep(20_000) }
        try #require(process.isRunning && !checkpoints(output).isEmpty, "no checkpoint within 120 s")
        kill(process.processIdentifier, SIGTERM)
        let run = CLIRun.result(process, logs: work)
        #expect(!run.signaled && run.status == 143, "\(run.summary)")
        #expect(run.stderr.contains("stopped by SIGTERM at step"), "\(run.summary)")
        let last = try #require(checkpoints(output).last)
        let resumed = try CLIRun.run(arguments + ["--output", output.path, "--steps", "\(last.step + 1)", "--resume"])
        #expect(resumed.status == 0 && resumed.stderr.contains("resuming from \(last.folder.lastPathComponent)"), "\(resumed.summary)")
    }

    /// A disk that fills up during a checkpoint: one line naming the file, a non-zero exit, no
    /// `.partial` folder left, and the checkpoints written before it intact. The disk is a 4 MB
    /// tmpfs when this process may mount one, else a 1.5 MB limit on file sizes (`ulimit -f`).
    @Test func aFullDiskEndsWithOneLineAndNoLeftovers() throws {
        let (work, arguments) = try setUp("disk-full")
        defer { try? FileManager.default.removeItem(at: work) }
        let disk = work.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        let mounted = shell(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk.path]) == 0
        defer { if mounted { _ = shell(["umount", disk.path]) } }
        let output = disk.appendingPathComponent("run")
        var command = arguments + ["--output", output.path, "--steps", "200", "--checkpoint-every", "1", "--keep-checkpoints", "3"]
        if !mounted {
            // Writes past the limit fail with EFBIG (SIGXFSZ is ignored, and stays so across exec).
            command = ["-c", "trap '' XFSZ; ulimit -f 3000; exec \"$0\" \"$@\"", CLIRun.binary.path] + command
        }
        let process = Process()
        process.executableURL = mounted ? CLIRun.binary : URL(fileURLWithPath: "/bin/sh")
        process.arguments = command
        process.currentDirectoryURL = KillResumeTests.root
        let errors = work.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errors)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        let errorLines = stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
        #expect(process.terminationReason == .exit && process.terminationStatus != 0 && errorLines.count == 1, "\(stderr.suffix(600))")
        #expect(errorLines.first.map { $0.contains(output.path) && !$0.contains("NSCocoaErrorDomain") } == true, "\(stderr.suffix(600))")
        let names = (FileManager.default.enumerator(atPath: output.path)?.compactMap { $0 as? String }) ?? []
        #expect(!names.contains { $0.hasSuffix(".partial") }, "left over: \(names.filter { $0.hasSuffix(".partial") })")
        if mounted {
            for (_, folder) in checkpoints(output) { _ = try TrainingCheckpoint.read(folder) }
            #expect(!checkpoints(output).isEmpty, "the checkpoints before the disk filled up are kept")
        }
    }

    func shell(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

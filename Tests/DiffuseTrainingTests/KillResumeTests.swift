import DiffuseFormats
import DiffuseTraining
import Foundation
import Testing

/// `diffuse train` killed with SIGKILL at arbitrary moments (between steps, while a checkpoint is
/// being written) and restarted with `--resume` ends with exactly the weights, EMA, optimizer
/// state and loss history of a run that was never interrupted.
@Suite struct KillResumeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binary = root.appendingPathComponent(".build/release/diffuse")

    static let config = """
    {"_class_name": "UNet2DModel", "sample_size": 16, "in_channels": 3, "out_channels": 3, "block_out_channels": [16, 32],
     "down_block_types": ["DownBlock2D", "AttnDownBlock2D"], "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
     "layers_per_block": 1, "norm_num_groups": 8, "attention_head_dim": 8}
    """

    /// Builds the LD_PRELOAD hook (Tests/Fixtures/hooks/slow_checkpoint_write.c) that pauses each
    /// checkpoint write half-way, with the first C compiler on PATH; returns the library's path.
    static func slowCheckpointHook(in folder: URL) throws -> String {
        let source = root.appendingPathComponent("Tests/Fixtures/hooks/slow_checkpoint_write.c").path
        let library = folder.appendingPathComponent("slow_checkpoint_write.so").path
        for compiler in ["cc", "gcc", "clang"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [compiler, "-shared", "-fPIC", "-O1", "-o", library, source, "-ldl"]
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch { continue }
            process.waitUntilExit()
            if process.terminationStatus == 0 { return library }
        }
        throw HookBuildError(description: "no C compiler (cc, gcc or clang) could build \(source)")
    }

    struct HookBuildError: Error, CustomStringConvertible { var description: String }

    func launch(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = CLIRun.binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test func sigkillAndResumeGivesTheUninterruptedResult() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIRun.binary.path),
                     "\(CLIRun.binary.path) is missing: build it with `swift build -c release` (make test does)")
        let work = try TrainerTestSupport.temporaryFolder("kill")
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try TrainerTestSupport.writeDataset((0 ..< 12).map { i in ("colour \(i)", ((i * 40) % 256, (i * 90) % 256, 255 - i * 20)) },
                                            size: 16, to: data)
        let configURL = work.appendingPathComponent("unet.json")
        try Self.config.write(to: configURL, atomically: true, encoding: .utf8)
        func arguments(_ output: String) -> [String] {
            ["train", "--data", data.path, "--output", work.appendingPathComponent(output).path, "--model-config", configURL.path,
             "--steps", "40", "--batch-size", "4", "--checkpoint-every", "2", "--random-flip", "--seed", "9", "--resume"]
        }

        let reference = try launch(arguments("reference"))
        reference.waitUntilExit()
        #expect(reference.terminationStatus == 0)

        // First a kill that certainly lands while a checkpoint is being written: the preloaded
        // test hook pauses each write half-way (after model.safetensors, before the rest and the rename).
        let checkpoints = work.appendingPathComponent("killed/checkpoints")
        let hook = try Self.slowCheckpointHook(in: work)
        let slow = try launch(arguments("killed"), environment: ["LD_PRELOAD": hook, "SLOW_CHECKPOINT_SECONDS": "2"])
        func partials() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []).filter { $0.hasSuffix(".partial") }
        }
        let waitLimit = Date().addingTimeInterval(60)
        while partials().isEmpty && slow.isRunning && Date() < waitLimit { usleep(2_000) }
        usleep(200_000)
        try #require(!partials().isEmpty, "no checkpoint write was seen in progress")
        kill(slow.processIdentifier, SIGKILL)
        slow.waitUntilExit()
        #expect(!partials().isEmpty, "the kill landed during the write: its .partial folder is left")
        #expect(TrainingCheckpoint.newest(in: checkpoints) == nil, "no complete checkpoint yet")

        // Then kills at varying moments until a run finishes on its own. Each launch is killed
        // only after it has saved a checkpoint of its own (plus a varying delay, so kills land
        // between steps and inside writes): on a slow, busy machine a fixed delay could end every
        // launch before its first checkpoint, and the test would never finish.
        let delays = [0.09, 0.0, 0.15, 0.03, 0.07, 0.0, 0.12, 0.05, 0.01, 0.1]
        func newestStep() -> Int { TrainingCheckpoint.newest(in: checkpoints).map { Int($0.lastPathComponent.dropFirst(11)) ?? 0 } ?? 0 }
        var kills = 0, attempt = 0
        while true {
            let startStep = newestStep()
            let process = try launch(arguments("killed"))
            let progressLimit = Date().addingTimeInterval(120)
            while process.isRunning && newestStep() == startStep && Date() < progressLimit { usleep(2_000) }
            let deadline = Date().addingTimeInterval(delays[attempt % delays.count])
            while process.isRunning && Date() < deadline { usleep(2_000) }
            attempt += 1
            if !process.isRunning {
                #expect(process.terminationStatus == 0)
                break
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
            try #require(newestStep() > startStep, "launch \(attempt) saved no checkpoint in 120 s")
            try #require(attempt < 30, "the killed run never finished")
        }
        print("[train] SIGKILL test: \(kills) kills, finished on launch \(attempt)")
        #expect(kills >= 3)
        #expect(TrainingCheckpoint.newest(in: checkpoints)?.lastPathComponent == "checkpoint-000040")
        for file in ["model.safetensors", "ema.safetensors", "optimizer.safetensors"] {
            let a = try TrainerTestSupport.tensors(work.appendingPathComponent("reference/checkpoints/checkpoint-000040/\(file)"))
            let b = try TrainerTestSupport.tensors(checkpoints.appendingPathComponent("checkpoint-000040/\(file)"))
            #expect(!a.isEmpty && a.keys.sorted() == b.keys.sorted() && a.keys.allSatisfy { a[$0]! == b[$0]! }, "\(file) differs")
        }
        let decoder = JSONDecoder()
        let stateA = try decoder.decode(TrainerState.self, from: Data(contentsOf: work.appendingPathComponent("reference/checkpoints/checkpoint-000040/trainer_state.json")))
        let stateB = try decoder.decode(TrainerState.self, from: Data(contentsOf: checkpoints.appendingPathComponent("checkpoint-000040/trainer_state.json")))
        #expect(stateA.losses == stateB.losses && stateA.losses.count == 40)
        #expect(stateA.randomState == stateB.randomState)
        // No half-written checkpoint is left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).filter { $0.hasSuffix(".partial") || $0.contains(".tmp") }
        #expect(leftovers.isEmpty, "left over: \(leftovers)")
    }
}

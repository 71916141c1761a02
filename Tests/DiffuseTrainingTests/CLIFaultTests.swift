import DiffuseFormats
import Foundation
import Testing

/// Bad input to the built `diffuse` command ends with one `Error:` line naming the flag, file or
/// key, and a non-zero status — never a signal (a trap), never a raw Foundation error dump.
@Suite(.serialized) struct CLIFaultTests {
    static let sd1 = KillResumeTests.root.appendingPathComponent("Tests/Fixtures/sd/sd1").path

    func work(_ name: String) throws -> URL { try TrainerTestSupport.temporaryFolder(name) }

    func requireBinary() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIRun.binary.path),
                     "\(CLIRun.binary.path) is missing: build it with `swift build -c release --product diffuse` (make test does)")
    }

    func generate(_ extra: [String], output: String? = nil) throws -> CLIRun {
        let out = output ?? FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-cli-\(UUID().uuidString).png").path
        defer { if output == nil { try? FileManager.default.removeItem(atPath: out) } }
        return try CLIRun.run(["generate", "--prompt", "a red apple", "--steps", "2", "--output", out] + extra)
    }

    @Test func sizesAndCountsBeyondTheMachineAreRefused() throws {
        try requireBinary()
        for (arguments, flag) in [
            (["--model", Self.sd1, "--width", "100000", "--height", "100000"], "--width"),
            (["--model", Self.sd1, "--width", "1152921504606846976"], "--width"),
            (["--model", Self.sd1, "--height", "1152921504606846976", "--width", "1152921504606846976"], "--width"),
            (["--model", Self.sd1, "--count", "1000000000"], "--count"),
        ] {
            let run = try generate(arguments)
            #expect(run.failedCleanly(naming: flag, "memory"), "\(arguments): \(run.summary)")
        }
    }

    @Test func guidanceMustBeFiniteAndNonNegative() throws {
        try requireBinary()
        for value in ["nan", "inf", "-5"] {
            let run = try generate(["--guidance=\(value)"])
            #expect(run.failedCleanly(naming: "--guidance"), "--guidance \(value): \(run.summary)")
        }
    }

    /// The bundled 32-pixel model lists its size: other sizes are refused with it; --upscale still
    /// enlarges its 32² images.
    @Test func theBundledModelRefusesSizesItCannotDraw() throws {
        try requireBinary()
        for arguments in [["--width", "256", "--height", "256"], ["--width", "1024", "--height", "1024"], ["--width", "1152921504606846976"]] {
            let run = try generate(arguments)
            #expect(run.failedCleanly(naming: "--width", "32x32"), "\(arguments): \(run.summary)")
        }
        let folder = try work("upscale")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("apple.png").path
        let run = try generate(["--upscale", "8"], output: output)
        #expect(run.status == 0, "\(run.summary)")
        let image = try PNGImage(contentsOf: URL(fileURLWithPath: output))
        #expect(image.width == 256 && image.height == 256)
    }

    @Test func badInitImagesAreRefusedNamingTheFile() throws {
        try requireBinary()
        let folder = try work("init-images")
        defer { try? FileManager.default.removeItem(at: folder) }
        // 4096²: decodes, but the output would follow it to a size the model cannot draw.
        let large = folder.appendingPathComponent("large.png")
        try PNGImage(width: 4096, height: 4096, channels: 3, pixels: [UInt8](repeating: 90, count: 4096 * 4096 * 3)).write(to: large)
        var run = try generate(["--init-image", large.path])
        #expect(run.failedCleanly(naming: "4096x4096", "32x32"), "\(run.summary)")
        // A 16,000² bomb is refused from its header.
        let bomb = KillResumeTests.root.appendingPathComponent("Tests/Fixtures/formats/bomb-16000.png")
        run = try generate(["--init-image", bomb.path])
        #expect(run.failedCleanly(naming: "--init-image", bomb.path, "exceeds"), "\(run.summary)")
        // A folder, and a missing file.
        run = try generate(["--init-image", folder.path])
        #expect(run.failedCleanly(naming: "--init-image", folder.path, "folder"), "\(run.summary)")
        run = try generate(["--init-image", folder.appendingPathComponent("missing.png").path])
        #expect(run.failedCleanly(naming: "--init-image", "missing.png"), "\(run.summary)")
    }

    @Test func unwritableOutputsAreRefusedNamingThePath() throws {
        try requireBinary()
        let folder = try work("outputs")
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = folder.appendingPathComponent("taken.png")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        for (output, needle) in [
            (directory.path, directory.path),
            (file.appendingPathComponent("out.png").path, file.path),
            (folder.appendingPathComponent("missing/out.png").path, "missing"),
            ("/proc/diffuse-out.png", "/proc"),
        ] {
            let run = try generate([], output: output)
            #expect(run.failedCleanly(naming: needle) && !run.stderr.contains("NSCocoaErrorDomain"), "\(output): \(run.summary)")
        }
        // diffuse train: an output that is a file, or under a file.
        for output in [file.path, file.appendingPathComponent("run").path] {
            let run = try CLIRun.run(["train", "--data", folder.path, "--output", output, "--model-config", "configs/emoji-unet.json",
                                      "--text-encoder", ".deps/all-MiniLM-L6-v2", "--steps", "1", "--batch-size", "1"])
            #expect(run.failedCleanly(naming: file.path) && !run.stderr.contains("NSCocoaErrorDomain"), "\(output): \(run.summary)")
        }
    }

    /// Model folders whose configs would build a network that traps, or a schedule that makes NaN.
    @Test func badModelConfigsAreRefusedNamingFileAndKey() throws {
        try requireBinary()
        let folder = try work("bad-model")
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = URL(fileURLWithPath: Self.sd1)
        for (component, file, key, value) in [
            ("unet", "config.json", "block_out_channels", "[-32, 64]" as Any),
            ("unet", "config.json", "norm_num_groups", 7),
            ("unet", "config.json", "attention_head_dim", 0),
            ("unet", "config.json", "layers_per_block", 1e9),
            ("vae", "config.json", "norm_num_groups", 5),
            ("scheduler", "scheduler_config.json", "beta_end", -0.012),
        ] {
            let model = folder.appendingPathComponent("\(component)-\(key)")
            try? FileManager.default.removeItem(at: model)
            try FileManager.default.copyItem(at: source, to: model)
            let url = model.appendingPathComponent("\(component)/\(file)")
            var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            config[key] = (value as? String).map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) } ?? value
            try JSONSerialization.data(withJSONObject: config).write(to: url)
            let run = try generate(["--model", model.path])
            #expect(run.failedCleanly(naming: key), "\(component) \(key): \(run.summary)")
            if component != "scheduler" { #expect(run.errorLines.first?.contains(url.path) == true, "\(run.summary)") }
        }
    }

    /// A two-image 16² dataset and the kill test's tiny UNet config in `folder`.
    func tinyTraining(in folder: URL) throws -> (data: URL, config: URL) {
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try TrainerTestSupport.writeDataset([("red", (230, 20, 20)), ("blue", (20, 20, 230))], size: 16, to: data)
        let config = folder.appendingPathComponent("unet.json")
        try KillResumeTests.config.write(to: config, atomically: true, encoding: .utf8)
        return (data, config)
    }

    @Test func aTrainingBatchBeyondMemoryIsRefused() throws {
        try requireBinary()
        let folder = try work("train-batch")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (data, config) = try tinyTraining(in: folder)
        let run = try CLIRun.run(["train", "--data", data.path, "--output", folder.appendingPathComponent("run").path,
                                  "--model-config", config.path, "--steps", "2", "--batch-size", "100000000"])
        #expect(run.failedCleanly(naming: "--batch-size", "memory"), "\(run.summary)")
    }

    /// `--prediction-type sample` (x₀-prediction, which the objective implements) trains and writes
    /// a model whose scheduler config says so; an unknown type is refused by name.
    @Test func samplePredictionTrains() throws {
        try requireBinary()
        let folder = try work("train-sample")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (data, config) = try tinyTraining(in: folder)
        let output = folder.appendingPathComponent("run")
        let arguments = ["train", "--data", data.path, "--output", output.path, "--model-config", config.path, "--steps", "2",
                         "--batch-size", "2", "--sample-every", "0", "--samples-per-prompt", "1"]
        let run = try CLIRun.run(arguments + ["--prediction-type", "sample"])
        #expect(run.status == 0 && !run.signaled, "\(run.summary)")
        let scheduler = try String(contentsOf: output.appendingPathComponent("scheduler/scheduler_config.json"), encoding: .utf8)
        #expect(scheduler.contains("\"sample\""), "\(scheduler)")
        let refused = try CLIRun.run(arguments + ["--prediction-type", "x0", "--output", folder.appendingPathComponent("other").path])
        #expect(refused.status != 0 && !refused.signaled && refused.stderr.contains("--prediction-type"), "\(refused.summary)")
    }

    /// A second run into a folder that holds one, and a resume with other settings, are refused
    /// naming `diffuse train`'s flags (the library's messages name its own properties).
    @Test func reusingAnOutputFolderIsRefusedNamingTheFlags() throws {
        try requireBinary()
        let folder = try work("train-reuse")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (data, config) = try tinyTraining(in: folder)
        let output = folder.appendingPathComponent("run")
        let arguments = ["train", "--data", data.path, "--output", output.path, "--model-config", config.path, "--steps", "2",
                         "--checkpoint-every", "1"]
        let first = try CLIRun.run(arguments + ["--batch-size", "2"])
        #expect(first.status == 0 && !first.signaled, "\(first.summary)")
        let again = try CLIRun.run(arguments + ["--batch-size", "2"])
        #expect(again.failedCleanly(naming: output.path, "already holds a training run", "--resume", "--output"), "\(again.summary)")
        let resumed = try CLIRun.run(arguments + ["--batch-size", "1", "--resume"])
        #expect(resumed.failedCleanly(naming: "--batch-size is 1 but the run being resumed used 2"), "\(resumed.summary)")
        #expect(!resumed.stderr.contains("`"), "\(resumed.summary)")
    }
}

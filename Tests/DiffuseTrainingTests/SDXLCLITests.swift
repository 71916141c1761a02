import DiffuseFormats
import Foundation
import Testing

/// `diffuse generate` with the tiny SDXL fixtures (tools/make_sdxl_fixtures.py): the size/crop
/// flags and `--refiner` give diffusers' images; bad flags, a folder that is not a refiner and an
/// SDXL single file missing an encoder end in one `Error:` line.
@Suite(.serialized) struct SDXLCLITests {
    static let sdxl = KillResumeTests.root.appendingPathComponent("Tests/Fixtures/sdxl")

    /// Runs `generate` with `arguments` into a temporary PNG; the image when it succeeded.
    func generate(_ arguments: [String]) throws -> (CLIRun, PNGImage?) {
        try #require(FileManager.default.isExecutableFile(atPath: CLIRun.binary.path), "\(CLIRun.binary.path) is missing")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-sdxl-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try CLIRun.run(["generate"] + arguments + ["--output", out.path])
        return (run, run.status == 0 ? try PNGImage(contentsOf: out) : nil)
    }

    static func maxDifference(_ image: PNGImage, _ reference: URL) throws -> Int {
        let a = try image.converted(toChannels: 3), b = try PNGImage(contentsOf: reference).converted(toChannels: 3)
        guard (a.width, a.height) == (b.width, b.height) else { return 255 }
        return zip(a.pixels, b.pixels).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
    }

    @Test func sizeConditioningFlagsGiveDiffusersImage() throws {
        let (run, image) = try generate(["--model", Self.sdxl.appendingPathComponent("base").path,
                                         "--prompt", "a photograph of an astronaut riding a horse", "--negative-prompt", "ugly, deformed",
                                         "--sampler", "dpmpp_2m_karras", "--steps", "5", "--guidance", "5", "--seed", "103",
                                         "--width", "32", "--height", "56",
                                         "--original-size", "96,64", "--crop", "8,4", "--target-size", "40,72"])
        let png = try #require(image, "\(run.stderr)")
        let diff = try Self.maxDifference(png, Self.sdxl.appendingPathComponent("base/reference/txt2img_dpmpp_2m_karras_32x56_micro_0.png"))
        print("[parity] sdxl CLI micro-conditioning: max channel difference \(diff)/255")
        #expect(diff <= 1)
    }

    @Test func refinerGivesDiffusersImage() throws {
        let (run, image) = try generate(["--model", Self.sdxl.appendingPathComponent("base").path,
                                         "--refiner", Self.sdxl.appendingPathComponent("refiner").path, "--refiner-start", "0.8",
                                         "--prompt", "a photograph of an astronaut riding a horse",
                                         "--negative-prompt", "blurry, low quality, watermark",
                                         "--sampler", "euler", "--steps", "5", "--guidance", "5", "--seed", "160",
                                         "--width", "48", "--height", "32"])
        let png = try #require(image, "\(run.stderr)")
        let diff = try Self.maxDifference(png, Self.sdxl.appendingPathComponent("refiner/reference/refine_euler_08_0.png"))
        print("[parity] sdxl CLI base + refiner: max channel difference \(diff)/255")
        #expect(diff <= 1)
    }

    @Test func badInputIsOneLine() throws {
        let base = Self.sdxl.appendingPathComponent("base").path
        let cases: [([String], [String])] = [
            (["--model", base, "--prompt", "x", "--width", "44"], ["--width", "multiple of 8"]),
            (["--model", base, "--prompt", "x", "--original-size", "0,64"], ["--original-size"]),
            (["--model", base, "--prompt", "x", "--crop", "3"], ["--crop"]),
            (["--model", base, "--prompt", "x", "--refiner", Self.sdxl.appendingPathComponent("turbo").path], ["--refiner", "not an SDXL refiner"]),
            (["--model", base, "--prompt", "x", "--refiner", Self.sdxl.appendingPathComponent("refiner").path, "--refiner-start", "1"],
             ["--refiner-start"]),
            (["--model", Self.sdxl.appendingPathComponent("base-single-file.safetensors").path, "--prompt", "x"], ["--tokenizer"]),
        ]
        for (arguments, needles) in cases {
            let (run, _) = try generate(arguments + ["--steps", "1"])
            #expect(run.failedCleanly(naming: needles), "\(arguments): \(run.stderr)")
        }
    }
}

import DiffuseFormats
import Foundation
import Testing

/// `diffuse generate --lora FILE[:SCALE]` / `--lora-dir`: the image diffusers makes with the same
/// LoRAs (tools/make_lora_fixtures.py), the tags in the infotext, one-line errors naming `--lora`.
@Suite struct LoRACLITests {
    static let fixtures = KillResumeTests.root.appendingPathComponent("Tests/Fixtures")
    static let loras = fixtures.appendingPathComponent("lora")

    static func generate(_ extra: [String], prompt: String = "a photograph of an astronaut riding a horse") throws -> (run: CLIRun, image: PNGImage?) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-lora-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: output) }
        let run = try CLIRun.run(["generate", "--model", fixtures.appendingPathComponent("sd/sd1").path,
                                  "--prompt", prompt, "--negative-prompt", "blurry",
                                  "--sampler", "ddim", "--steps", "4", "--guidance", "7.5", "--seed", "7", "--width", "32", "--height", "32",
                                  "--output", output.path] + extra)
        return (run, try? PNGImage(contentsOf: output))
    }

    static func maxDifference(_ image: PNGImage, _ reference: String) throws -> Int {
        let x = try image.converted(toChannels: 3)
        let y = try PNGImage(contentsOf: loras.appendingPathComponent("reference/\(reference).png")).converted(toChannels: 3)
        return zip(x.pixels, y.pixels).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
    }

    @Test func aLoRAFileWithItsScaleGivesDiffusersImage() throws {
        let (run, image) = try Self.generate(["--lora", Self.loras.appendingPathComponent("kohya.safetensors").path + ":0.8"])
        let png = try #require(image, "\(run.summary)")
        let diff = try Self.maxDifference(png, "kohya")
        print("[lora cli] --lora kohya.safetensors:0.8: max channel difference \(diff)/255")
        #expect(diff <= 1)
        #expect(png.textValue(forKeyword: "parameters")?.hasPrefix("a photograph of an astronaut riding a horse <lora:kohya:0.8>\n") == true)
    }

    @Test func twoLoRAsByNameInTheLoRAFolder() throws {
        let (run, image) = try Self.generate(["--lora-dir", Self.loras.path, "--lora", "kohya:0.7", "--lora", "peft:1.3"])
        let png = try #require(image, "\(run.summary)")
        let diff = try Self.maxDifference(png, "kohya_peft")
        print("[lora cli] --lora kohya:0.7 --lora peft:1.3: max channel difference \(diff)/255")
        #expect(diff <= 1)
    }

    /// A1111's `<lora:NAME:MULTIPLIER>` tags in an A1111-syntax prompt load NAME from --lora-dir:
    /// the image of `--lora kohya:0.7 --lora peft:1.3` (a prompt without other syntax reads as plain).
    @Test func promptTagsLoadLoRAsFromTheLoRAFolder() throws {
        let prompt = "a photograph of an astronaut riding a horse <lora:kohya:0.7> <lora:peft:1.3>"
        let (run, image) = try Self.generate(["--lora-dir", Self.loras.path, "--prompt-syntax", "a1111"], prompt: prompt)
        let png = try #require(image, "\(run.summary)")
        let diff = try Self.maxDifference(png, "kohya_peft")
        print("[lora cli] prompt tags <lora:kohya:0.7> <lora:peft:1.3>: max channel difference \(diff)/255")
        #expect(diff <= 1)
        #expect(png.textValue(forKeyword: "parameters")?.hasPrefix(prompt + "\n") == true)
        for (arguments, tagged, needles) in [
            (["--prompt-syntax", "a1111"], "a horse <lora:kohya:0.7>", ["--prompt", "<lora:kohya:0.7>", "no LoRA folder"]),
            (["--lora-dir", Self.loras.path, "--prompt-syntax", "a1111"], "a horse <lora:nothing:1>", ["--prompt", "no LoRA named \"nothing\""]),
            (["--lora-dir", Self.loras.path, "--prompt-syntax", "a1111"], "a horse <lora:kohya:x>", ["--prompt", "not a number"]),
        ] {
            let (run, _) = try Self.generate(arguments, prompt: tagged)
            #expect(run.failedCleanly(naming: needles), "\(tagged): \(run.summary)")
        }
    }

    @Test func badLoRAArgumentsFailWithOneLineNamingTheFlag() throws {
        let kohya = Self.loras.appendingPathComponent("kohya.safetensors").path
        let pickle = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-lora-\(UUID().uuidString).ckpt")
        try Data("x".utf8).write(to: pickle)
        defer { try? FileManager.default.removeItem(at: pickle) }
        for (arguments, needles) in [
            (["--lora", kohya + ":strong"], ["--lora", "scale \"strong\"", "not a number"]),
            (["--lora", "/nowhere/x.safetensors"], ["--lora", "/nowhere/x.safetensors does not exist"]),
            (["--lora", "kohya"], ["--lora", "kohya does not exist", "--lora-dir"]),
            (["--lora-dir", Self.loras.path, "--lora", "nothing"], ["--lora", "no LoRA named \"nothing\""]),
            (["--lora", Self.loras.appendingPathComponent("reference/kohya.weights.safetensors").path], ["--lora", "match no layer"]),
            (["--lora", pickle.path], ["--lora", "convert it to .safetensors"]),
            (["--lora-dir", "/nowhere"], ["--lora-dir", "is not a folder"]),
        ] {
            let (run, _) = try Self.generate(arguments)
            #expect(!run.signaled && run.status != 0 && run.stderr.contains("Error: ") && needles.allSatisfy { run.stderr.contains($0) },
                    "\(arguments): \(run.summary)")
        }
    }
}

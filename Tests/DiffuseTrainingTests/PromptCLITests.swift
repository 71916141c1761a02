import Foundation
import Testing

/// What `diffuse generate` says about prompts: the one-line warning when plain syntax drops
/// tokens, A1111 syntax reading any length, and one `Error:` line for bad emphasis and bad
/// embedding files.
@Suite(.serialized) struct PromptCLITests {
    static let sd1 = CLIFaultTests.sd1
    static let embeddings = KillResumeTests.root.appendingPathComponent("Tests/Fixtures/prompts/embeddings").path
    static let long = Array(repeating: "a castle on a hill", count: 20).joined(separator: ", ")  // 20 × 5 words + 19 commas = 119 tokens (transformers' CLIPTokenizer)

    func generate(_ extra: [String]) throws -> CLIRun {
        try #require(FileManager.default.isExecutableFile(atPath: CLIRun.binary.path), "\(CLIRun.binary.path) is missing")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-prompt-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        return try CLIRun.run(["generate", "--model", Self.sd1, "--steps", "2", "--width", "48", "--height", "32", "--output", out] + extra)
    }

    @Test func plainSyntaxWarnsWhenItDropsTokens() throws {
        let plain = try generate(["--prompt", Self.long])
        #expect(plain.status == 0, "\(plain.summary)")
        let warnings = plain.stderr.split(separator: "\n").filter { $0.hasPrefix("warning:") }
        #expect(warnings == ["warning: --prompt is 44 tokens over CLIP's 75; the last 44 are dropped (--prompt-syntax a1111 reads any length)"],
                "\(plain.summary)")
        let a1111 = try generate(["--prompt", Self.long, "--prompt-syntax", "a1111", "--negative-prompt", "(blurry:1.3)"])
        #expect(a1111.status == 0 && !a1111.stderr.contains("warning:"), "\(a1111.summary)")
        let short = try generate(["--prompt", "a red apple"])
        #expect(short.status == 0 && !short.stderr.contains("warning:"), "\(short.summary)")
    }

    @Test func badPromptsAndEmbeddingsAreOneLine() throws {
        let pickle = FileManager.default.temporaryDirectory.appendingPathComponent("style-\(UUID().uuidString).pt")
        try Data([0x80]).write(to: pickle)
        defer { try? FileManager.default.removeItem(at: pickle) }
        for (arguments, needles) in [
            (["--prompt", "a (cat:1.2.3)", "--prompt-syntax", "a1111"], ["--prompt:", "1.2.3"]),
            (["--prompt", "a", "--negative-prompt", "[(x:..)]", "--prompt-syntax", "a1111"], ["--negative-prompt:", ".."]),
            (["--prompt", "a", "--embedding", "\(Self.embeddings)/wide.safetensors"], ["--embedding", "wide.safetensors", "emb_params", "48"]),
            (["--prompt", "a", "--embedding", pickle.path], ["--embedding", pickle.lastPathComponent, "pickle", ".safetensors"]),
            (["--prompt", "a", "--embedding-dir", Self.embeddings], ["--embedding-dir", "two.safetensors"]),
            (["--prompt", "a", "--embedding", "/nonexistent/x.safetensors"], ["--embedding", "/nonexistent/x.safetensors"]),
        ] {
            let run = try generate(arguments)
            #expect(run.failedCleanly(naming: needles[0]) && needles.allSatisfy { run.errorLines.first?.contains($0) == true },
                    "\(arguments): \(run.summary)")
        }
        // An unbalanced bracket is accepted, as A1111 accepts it; an embedding is used by its word.
        let ok = try generate(["--prompt", "a (mystyle castle [dark", "--prompt-syntax", "a1111",
                               "--embedding", "\(Self.embeddings)/mystyle.safetensors"])
        #expect(ok.status == 0, "\(ok.summary)")
    }
}

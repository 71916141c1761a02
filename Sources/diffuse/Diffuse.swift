import ArgumentParser
import CDiffuseCPU
import DiffusePipelines
import DiffuseTensor
import Foundation

@main
struct Diffuse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diffuse",
        abstract: "Text-to-image diffusion models in Swift, on the CPU.",
        discussion: """
        Diffuse runs, trains and serves diffusion models. Its numeric kernels need an x86-64 CPU \
        with AVX2, FMA and F16C (any x86-64-v3 processor: Intel Haswell, AMD Zen and later).

        Engine settings (threads, kernels, memory pool) come from DIFFUSE_* environment variables; \
        `diffuse doctor` lists them with their effective values.
        """,
        subcommands: [Generate.self, Train.self, TrainClassifier.self, Eval.self, IndexCaptions.self, Tokenize.self, Dataset.self, Doctor.self, Bench.self, Serve.self]
    )
}

/// Readies the tensor engine before a command's first tensor operation: stops with a clear message
/// on CPUs the kernels were not compiled for (instead of SIGILL) and on a `DIFFUSE_*` variable
/// whose value is not understood, and installs the environment's `EngineSettings`.
func prepareEngine() throws {
    guard diffuse_cpu_has_avx2_fma() == 1 else {
        throw CLIError("this CPU lacks AVX2/FMA/F16C, which Diffuse's kernels are compiled for (x86-64-v3)")
    }
    do {
        EngineSettings.current = try EngineSettings(environment: ProcessInfo.processInfo.environment)
    } catch let error as EngineSettingsError {
        throw CLIError(error.description)
    }
}

/// A run-time failure: printed as one line (`Error: …`) without the usage text.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension CLIError {
    /// A pipeline error with the request property at fault named as this command's flag
    /// (`initImage` → `--init-image: …`, `loras` → `--lora: …`).
    init(_ error: PipelineError) {
        self.init(error.parameter.map { "--\($0 == .loras ? "lora" : $0.kebabCase): \(error.description)" } ?? error.description)
    }
}

import ArgumentParser
import CDiffuseCPU
import DiffusePipelines
import Foundation

@main
struct Diffuse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diffuse",
        abstract: "Text-to-image diffusion models in Swift, on the CPU.",
        discussion: """
        Diffuse runs, trains and serves diffusion models. Its numeric kernels need an x86-64 CPU \
        with AVX2, FMA and F16C (any x86-64-v3 processor: Intel Haswell, AMD Zen and later).

        Threads: DIFFUSE_THREADS (default: every core).
        """,
        subcommands: [Generate.self, Train.self, TrainClassifier.self, Eval.self, IndexCaptions.self, Tokenize.self, Dataset.self, Doctor.self, Bench.self, Serve.self]
    )
}

/// Stops with a clear message on CPUs the kernels were not compiled for (instead of SIGILL).
func requireSupportedCPU() throws {
    guard diffuse_cpu_has_avx2_fma() == 1 else {
        throw CLIError("this CPU lacks AVX2/FMA/F16C, which Diffuse's kernels are compiled for (x86-64-v3)")
    }
}

/// A run-time failure: printed as one line (`Error: …`) without the usage text.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension CLIError {
    /// A pipeline error with the request property at fault named as this command's flag
    /// (`initImage` → `--init-image: …`).
    init(_ error: PipelineError) {
        self.init(error.parameter.map { "--\($0.kebabCase): \(error.description)" } ?? error.description)
    }
}

import Foundation

/// Every knob of the tensor engine in one typed value: threads, buffer pool, convolution and GEMM
/// libraries, attention kernel, vector width, huge pages, profiling.
///
/// The process's value is `EngineSettings.current`. It is read from the environment's `DIFFUSE_*`
/// variables once (`init(environment:)`, which refuses a value it does not understand); the
/// `diffuse` command does that before any kernel runs and stops with a one-line error for a bad
/// value, and prints the effective settings in `diffuse doctor`. The kernels read their knob from
/// `current` the first time they need it, so set `current` before the first tensor operation.
public struct EngineSettings: Sendable, Equatable {
    /// Which threads run `Parallel`'s regions.
    public enum ParallelRuntime: String, Sendable, CaseIterable {
        /// oneDNN's OpenMP threads (one set of threads for every op).
        case openmp
        /// Dispatch's `concurrentPerform` (for A/B runs).
        case dispatch
    }

    /// Where convolutions run.
    public enum ConvolutionBackend: String, Sendable, CaseIterable {
        /// oneDNN's JIT kernels (falling back to im2col for shapes oneDNN declines).
        case onednn
        /// Diffuse's im2col + GEMM kernels only.
        case im2col
    }

    /// Which kernel `Attention.scaledDotProduct` runs.
    public enum AttentionBackend: String, Sendable, CaseIterable {
        /// The fused C kernel at the widest vectors allowed (`avx512`).
        case fused
        /// OpenBLAS products per block.
        case blas
    }

    /// Worker threads (`DIFFUSE_THREADS`); nil = every active processor.
    public var threads: Int? = nil
    /// `DIFFUSE_PARALLEL`: `openmp` (default) or `dispatch`.
    public var parallelRuntime: ParallelRuntime = .openmp
    /// Bytes of freed buffers `BufferPool` keeps for reuse (`DIFFUSE_POOL_MB`, default 1024 MB; 0 = no pooling).
    public var poolBytes = 1024 << 20
    /// Back buffers of 4 MB or more with transparent huge pages (`DIFFUSE_HUGE_PAGES=0` turns it off).
    public var hugePages = true
    /// `DIFFUSE_CONV`: `onednn` (default) or `im2col`.
    public var convolution: ConvolutionBackend = .onednn
    /// `DIFFUSE_CONV_ALG`: an algorithm forced on every 3×3 convolution, overriding each caller's
    /// choice; nil = each caller's (direct by default, Winograd for the VAE and training,
    /// automatic for the UNet at inference).
    public var convolutionAlgorithm: OneDNNConvolution.Algorithm? = nil
    /// `DIFFUSE_WINOGRAD_KERNEL`: whose Winograd kernels run (`automatic`, `onednn`, `diffuse`).
    public var winogradKernel: WinogradConvolution.Kernel = .automatic
    /// The most bytes of input and output one oneDNN forward convolution reorders before it runs
    /// in bands of output rows (`DIFFUSE_CONV_BAND_MB`, default 16 MB; 0 = never band → `Int.max`).
    public var convolutionBandBytes = 16 << 20
    /// `DIFFUSE_GEMM`: the library of whole-machine matrix products (`onednn` or `openblas`).
    public var gemm: BLAS.Backend = .onednn
    /// `DIFFUSE_ATTENTION`: `fused` (default) or `blas`.
    public var attention: AttentionBackend = .fused
    /// Whether Diffuse's own C kernels may use AVX-512 where the CPU has it (`DIFFUSE_AVX512=0`
    /// holds them to AVX2 + FMA, to stand in for an AVX2-only CPU).
    public var avx512 = true
    /// Time every tensor operation (`DIFFUSE_PROFILE=1`; `OpProfile`).
    public var profile = false

    /// The defaults above.
    public init() {}

    /// The settings the environment's `DIFFUSE_*` variables give; unset or empty variables keep
    /// their defaults.
    /// - Throws: `EngineSettingsError` naming the first variable whose value is not understood.
    public init(environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        func choice<T: RawRepresentable & CaseIterable>(_ name: String, _: T.Type) throws -> T? where T.RawValue == String {
            guard let text = value(name) else { return nil }
            guard let parsed = T(rawValue: text.lowercased()) else {
                throw EngineSettingsError(variable: name, value: text, expected: T.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return parsed
        }
        func count(_ name: String, minimum: Int) throws -> Int? {
            guard let text = value(name) else { return nil }
            guard let n = Int(text), n >= minimum, n <= 1 << 30 else {
                throw EngineSettingsError(variable: name, value: text, expected: "a whole number from \(minimum) to \(1 << 30)")
            }
            return n
        }
        func flag(_ name: String) throws -> Bool? {
            guard let text = value(name) else { return nil }
            switch text.lowercased() {
            case "1", "on", "true", "yes": return true
            case "0", "off", "false", "no": return false
            default: throw EngineSettingsError(variable: name, value: text, expected: "1 or 0")
            }
        }
        threads = try count("DIFFUSE_THREADS", minimum: 1)
        parallelRuntime = try choice("DIFFUSE_PARALLEL", ParallelRuntime.self) ?? parallelRuntime
        poolBytes = try count("DIFFUSE_POOL_MB", minimum: 0).map { $0 << 20 } ?? poolBytes
        hugePages = try flag("DIFFUSE_HUGE_PAGES") ?? hugePages
        convolution = try choice("DIFFUSE_CONV", ConvolutionBackend.self) ?? convolution
        convolutionAlgorithm = try choice("DIFFUSE_CONV_ALG", OneDNNConvolution.Algorithm.self)
        winogradKernel = try choice("DIFFUSE_WINOGRAD_KERNEL", WinogradConvolution.Kernel.self) ?? winogradKernel
        convolutionBandBytes = try count("DIFFUSE_CONV_BAND_MB", minimum: 0).map { $0 == 0 ? Int.max : $0 << 20 } ?? convolutionBandBytes
        gemm = try choice("DIFFUSE_GEMM", BLAS.Backend.self) ?? gemm
        attention = try choice("DIFFUSE_ATTENTION", AttentionBackend.self) ?? attention
        avx512 = try flag("DIFFUSE_AVX512") ?? avx512
        profile = try flag("DIFFUSE_PROFILE") ?? profile
    }

    /// The process's settings. Initially the environment's (the defaults where a variable is not
    /// understood: a front end that wants such a value refused calls `init(environment:)` itself
    /// and stores the result here before the first tensor operation).
    public nonisolated(unsafe) static var current: EngineSettings =
        (try? EngineSettings(environment: ProcessInfo.processInfo.environment)) ?? EngineSettings()

    /// Each setting as `name = value` with its variable, for `diffuse doctor`.
    public var summary: [(name: String, value: String, variable: String)] {
        [
            ("threads", threads.map(String.init) ?? "all cores (\(ProcessInfo.processInfo.activeProcessorCount))", "DIFFUSE_THREADS"),
            ("parallel runtime", parallelRuntime.rawValue, "DIFFUSE_PARALLEL"),
            ("buffer pool", "\(poolBytes >> 20) MB", "DIFFUSE_POOL_MB"),
            ("huge pages", hugePages ? "on" : "off", "DIFFUSE_HUGE_PAGES"),
            ("convolutions", convolution.rawValue, "DIFFUSE_CONV"),
            ("convolution algorithm", convolutionAlgorithm?.rawValue ?? "per caller (UNet automatic, VAE and training winograd)", "DIFFUSE_CONV_ALG"),
            ("Winograd kernel", winogradKernel.rawValue, "DIFFUSE_WINOGRAD_KERNEL"),
            ("convolution band", convolutionBandBytes == Int.max ? "off" : "\(convolutionBandBytes >> 20) MB", "DIFFUSE_CONV_BAND_MB"),
            ("GEMM", gemm.rawValue, "DIFFUSE_GEMM"),
            ("attention", attention.rawValue, "DIFFUSE_ATTENTION"),
            ("AVX-512 in Diffuse's kernels", avx512 ? "where the CPU has it" : "off", "DIFFUSE_AVX512"),
            ("profiling", profile ? "on" : "off", "DIFFUSE_PROFILE"),
        ]
    }
}

/// An environment variable whose value `EngineSettings` does not understand.
public struct EngineSettingsError: Error, CustomStringConvertible, Equatable {
    public var variable: String
    public var value: String
    /// What it accepts.
    public var expected: String
    public var description: String { "\(variable)=\(value) is not understood (expected \(expected))" }
}

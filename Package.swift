// swift-tools-version:6.0
import PackageDescription

/// The numeric kernels are compiled for AVX2 + FMA + F16C (x86-64-v3, "haswell"): without it Swift
/// lowers `SIMD8<Float>.addProduct` to eight `fmaf` calls. The `diffuse` command checks the CPU
/// (`CPUFeatures`, compiled for baseline x86-64) before it touches a kernel, so an older CPU gets a
/// clear error instead of SIGILL. Optimized with plain `-O` (release), not `-Ounchecked`, which
/// would silently drop every `precondition` (the shape checks) — the hot loops work on unsafe
/// pointers, so they carry no bounds checks either way.
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"]),
]

let package = Package(
    name: "Diffuse",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "diffuse", targets: ["diffuse"]),
        .library(name: "Diffuse", targets: ["DiffuseTensor", "DiffuseFormats", "DiffuseNN", "DiffuseModels", "DiffuseSchedulers", "DiffusePipelines"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.0.0"),
    ],
    targets: [
        // C libraries from Debian: OpenBLAS (libopenblas-dev), zlib (zlib1g-dev); oneDNN (libdnnl-dev) below.
        .systemLibrary(name: "CDiffuseBLAS", path: "Sources/CDiffuseBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // A tiny C shim compiled for baseline x86-64: CPU feature detection.
        .target(name: "CDiffuseCPU", path: "Sources/CDiffuseCPU"),
        // Convolutions on oneDNN (Debian libdnnl-dev), whose JIT kernels dispatch on the CPU at run time.
        .target(name: "CDiffuseDNNL", path: "Sources/CDiffuseDNNL", linkerSettings: [.linkedLibrary("dnnl")]),
        // Kernels compiled for AVX-512 and for AVX2 + FMA from one source, chosen at run time.
        .target(name: "CDiffuseKernels", path: "Sources/CDiffuseKernels", cSettings: [.unsafeFlags(["-O3"])]),

        .target(
            name: "DiffuseFormats",
            dependencies: ["CZlib"],
            swiftSettings: kernelFlags
        ),
        .target(
            name: "DiffuseTensor",
            dependencies: ["CDiffuseBLAS", "CDiffuseCPU", "CDiffuseDNNL", "CDiffuseKernels"],
            swiftSettings: kernelFlags
        ),
        .target(
            name: "DiffuseAutograd",
            dependencies: ["DiffuseTensor", "CDiffuseKernels"],
            swiftSettings: kernelFlags
        ),
        .target(
            name: "DiffuseNN",
            dependencies: ["DiffuseTensor", "DiffuseFormats", "DiffuseAutograd"],
            swiftSettings: kernelFlags
        ),
        .target(
            name: "DiffuseModels",
            dependencies: ["DiffuseTensor", "DiffuseFormats", "DiffuseNN", "DiffuseAutograd"],
            swiftSettings: kernelFlags
        ),
        .target(
            name: "DiffuseData",
            dependencies: ["DiffuseFormats"],
            swiftSettings: kernelFlags
        ),
        .target(
            name: "DiffuseSchedulers",
            dependencies: ["DiffuseTensor", "DiffuseFormats"],
            swiftSettings: kernelFlags
        ),
        .target(
            name: "DiffusePipelines",
            dependencies: ["DiffuseTensor", "DiffuseFormats", "DiffuseNN", "DiffuseModels", "DiffuseSchedulers"],
            swiftSettings: kernelFlags
        ),
        .target(
            name: "DiffuseTraining",
            dependencies: ["DiffuseTensor", "DiffuseFormats", "DiffuseAutograd", "DiffuseNN", "DiffuseModels", "DiffuseSchedulers",
                           "DiffuseData", "DiffusePipelines"],
            swiftSettings: kernelFlags
        ),
        // `diffuse serve`: the web page and HTTP APIs (OpenAI, AUTOMATIC1111, jobs) on Hummingbird 2.
        .target(
            name: "DiffuseServer",
            dependencies: [
                "DiffusePipelines", "DiffuseModels", "DiffuseFormats", "DiffuseSchedulers", "DiffuseTensor",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "diffuse",
            dependencies: [
                "DiffuseTensor", "DiffuseFormats", "DiffuseAutograd", "DiffuseNN", "DiffuseModels", "DiffuseSchedulers", "DiffusePipelines",
                "DiffuseData", "CDiffuseCPU", "DiffuseServer", "DiffuseTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "DiffuseTensorTests", dependencies: ["DiffuseTensor"]),
        .testTarget(name: "DiffuseFormatsTests", dependencies: ["DiffuseFormats"]),
        .testTarget(name: "DiffuseAutogradTests", dependencies: ["DiffuseAutograd", "DiffuseTensor"]),
        .testTarget(name: "DiffuseTrainingTests", dependencies: ["DiffuseTraining", "DiffuseData", "DiffusePipelines", "DiffuseSchedulers", "DiffuseModels", "DiffuseNN", "DiffuseAutograd", "DiffuseTensor", "DiffuseFormats"]),
        .testTarget(name: "DiffuseModelsTests", dependencies: ["DiffuseModels", "DiffuseNN", "DiffuseAutograd", "DiffuseTensor", "DiffuseFormats"]),
        .testTarget(name: "DiffuseSchedulersTests", dependencies: ["DiffuseSchedulers", "DiffuseTensor", "DiffuseFormats"]),
        .testTarget(name: "DiffuseTokenizerTests", dependencies: ["DiffuseModels"]),
        .testTarget(name: "DiffuseDataTests", dependencies: ["DiffuseData", "DiffuseFormats"]),
        .testTarget(name: "DiffuseBERTTests", dependencies: ["DiffuseModels", "DiffuseNN", "DiffuseTensor", "DiffuseFormats"]),
        .testTarget(name: "DiffusePipelinesTests", dependencies: ["DiffusePipelines", "DiffuseFormats", "DiffuseSchedulers", "DiffuseTensor", "DiffuseNN"]),
        .testTarget(
            name: "DiffuseServerTests",
            dependencies: ["DiffuseServer", "DiffusePipelines", "DiffuseFormats", "DiffuseSchedulers", "DiffuseTensor"]
        ),
    ],
    swiftLanguageModes: [.v5]
)

import DiffuseModels
import DiffuseNN
import DiffuseTensor
import DiffusePipelines
import Foundation
import Testing

/// Seconds to read, merge and restore a LoRA at SD 1.5's shapes (not run by CI). With
/// `DIFFUSE_LORA_BENCH=MODEL_DIR` (an SD 1.x folder, e.g. tools/make_sd15_random.py's) and
/// `DIFFUSE_LORA_BENCH_FILE=LORA.safetensors` (e.g. tools/make_lora_fixtures.py --benchmark-lora):
///
///     DIFFUSE_LORA_BENCH=/tmp/sd15-random DIFFUSE_LORA_BENCH_FILE=/tmp/lora-bench-r32.safetensors \
///       swift test -c release --skip-build --filter LoRASpeedTests
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["DIFFUSE_LORA_BENCH"] != nil))
struct LoRASpeedTests {
    static let environment = ProcessInfo.processInfo.environment

    /// Wall seconds of `body`; the process's CPU seconds (all threads) go to `cpu`.
    static func seconds(cpu: inout Double, _ body: () throws -> Void) rethrows -> Double {
        func cpuNow() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        let (start, startCPU) = (Date(), cpuNow())
        try body()
        cpu = cpuNow() - startCPU
        return Date().timeIntervalSince(start)
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        var cpu = 0.0
        return try seconds(cpu: &cpu, body)
    }

    @Test(arguments: [WeightPrecision.float32, .float16])
    func mergeAndRestore(_ precision: WeightPrecision) throws {
        let model = URL(fileURLWithPath: Self.environment["DIFFUSE_LORA_BENCH"] ?? "")
        let file = URL(fileURLWithPath: try #require(Self.environment["DIFFUSE_LORA_BENCH_FILE"], "set DIFFUSE_LORA_BENCH_FILE"))
        let pipeline = try DiffusionPipeline.load(folder: model, weights: precision)
        var lora: LoRA!
        let targets = try Self.seconds { _ = pipeline.loraTargets }
        let read = try Self.seconds { lora = try pipeline.loadLoRA(file) }
        let probe = lora.layers[0].target.parameter
        let before = probe.value.scalars
        var merged: MergedLoRAs!
        var mergeCPU = 0.0
        let merge = try Self.seconds(cpu: &mergeCPU) { merged = try MergedLoRAs([LoRAApplication(lora, multiplier: 0.8)]) }
        #expect(probe.value.scalars != before)
        let changed = merged.changedParameterCount
        let values = lora.layers.reduce(0) { $0 + $1.target.parameter.shape.reduce(1, *) }
        let restore = Self.seconds { merged.restore() }
        #expect(probe.value.scalars == before)
        print(String(format: "[lora bench] %@ weights, %d layers (%d weights, %.0f M values): layer table %.3f s, read %.3f s, merge %.3f s (%.2f CPU s), restore %.4f s",
                     precision.rawValue, lora.layers.count, changed, Double(values) / 1e6, targets, read, merge, mergeCPU, restore))
    }
}

import DiffuseModels
import Foundation

/// Serialises LoRA merging with generation on a shared pipeline. Generations enter in arrival
/// order; consecutive ones that want the same LoRAs (same files, same multipliers) run together
/// on the weights merged once; one that wants others waits until the running ones have left,
/// then the weights are restored and the new LoRAs merged with nothing running. So no generation
/// ever sees another's LoRAs, and a set stays merged until a request wants another.
final class LoRAGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var merged: MergedLoRAs?
    private var current: [LoRAApplication] = []
    private var running = 0
    private var nextTicket = 0
    private var serving = 0
    private var builtTargets: LoRATargets?

    /// The pipeline's layer table, built once by `make`.
    func targets(_ make: () -> LoRATargets) -> LoRATargets {
        condition.lock()
        defer { condition.unlock() }
        if let builtTargets { return builtTargets }
        let made = make()
        builtTargets = made
        return made
    }

    /// Runs `body` with exactly `wanted` merged into the weights.
    /// - Throws: `LoRAError` when merging fails (the weights are then the model's own), or what `body` throws.
    func run<T>(_ wanted: [LoRAApplication], _ body: () throws -> T) throws -> T {
        try enter(wanted)
        defer { leave() }
        return try body()
    }

    /// The applications merged now (for tests and messages).
    var mergedNow: [LoRAApplication] {
        condition.lock()
        defer { condition.unlock() }
        return current
    }

    private func same(_ a: [LoRAApplication], _ b: [LoRAApplication]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.isSame(as: $1) }
    }

    private func enter(_ wanted: [LoRAApplication]) throws {
        condition.lock()
        defer { condition.unlock() }
        let ticket = nextTicket
        nextTicket += 1
        while true {
            if serving == ticket {
                if same(wanted, current) { break }
                if running == 0 {
                    merged?.restore()
                    merged = nil
                    current = []
                    do {
                        if !wanted.isEmpty { merged = try MergedLoRAs(wanted) }
                    } catch {
                        serving += 1
                        condition.broadcast()
                        throw error
                    }
                    current = wanted
                    break
                }
            }
            condition.wait()
        }
        running += 1
        serving += 1
        condition.broadcast()
    }

    private func leave() {
        condition.lock()
        running -= 1
        condition.broadcast()
        condition.unlock()
    }
}

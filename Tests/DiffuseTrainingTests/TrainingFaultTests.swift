import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffusePipelines
import DiffuseTensor
import DiffuseTraining
import Foundation
import Testing

/// Training that goes wrong — a learning rate that makes the loss NaN, a damaged newest
/// checkpoint, a checkpoint write that fails half-way, a batch too large for the machine — stops
/// with one line (or recovers) and never loses the last good checkpoint.
@Suite struct TrainingFaultTests {
    func configuration(steps: Int, learningRate: Double = 2e-3) -> TrainingConfiguration {
        var c = TrainingConfiguration(steps: steps, batchSize: 4, resolution: 8)
        c.learningRate = learningRate
        c.checkpointEvery = 2
        c.seed = 3
        return c
    }

    func dataset() throws -> URL {
        let data = try TrainerTestSupport.temporaryFolder("fault-data")
        try TrainerTestSupport.writeDataset(TrainerTests.colours, size: 8, to: data)
        return data
    }

    /// `--lr 1e6`: the loss goes non-finite within a few steps. The run stops there with an error
    /// naming the step and the learning rate; the checkpoints before it stay readable and finite.
    @Test func divergenceStopsAndKeepsTheLastGoodCheckpoint() throws {
        let data = try dataset(), output = try TrainerTestSupport.temporaryFolder("diverge")
        defer { for u in [data, output] { try? FileManager.default.removeItem(at: u) } }
        var steps = 0
        do {
            _ = try TrainerTestSupport.trainer(config: TrainerTestSupport.unconditionalConfig, data: data, output: output,
                                               configuration: configuration(steps: 30, learningRate: 1e6), encoder: nil).run(resume: false) { event in
                if case .step = event { steps += 1 }
                return true
            }
            Issue.record("a run at learning rate 1e6 finished 30 steps")
        } catch let error as TrainingError {
            #expect(error.parameter == "learningRate")
            #expect(error.description.contains("diverged at step") && error.description.contains("1e+06") && !error.description.contains("\n"),
                    "\(error.description)")
        }
        let checkpoints = output.appendingPathComponent("checkpoints")
        let kept = TrainingCheckpoint.list(in: checkpoints)
        #expect(kept.allSatisfy { $0.step <= steps }, "no checkpoint of the diverged step")
        for (_, folder) in kept {
            let checkpoint = try TrainingCheckpoint.read(folder)
            #expect(checkpoint.weights.values.allSatisfy { GradientClipping.globalNorm([$0]).isFinite }, "\(folder.lastPathComponent) holds non-finite weights")
            #expect(checkpoint.state.losses.allSatisfy { $0.isFinite })
        }
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []).contains { $0.hasSuffix(".partial") })
    }

    /// A damaged newest checkpoint: `resume` says so and continues from the older one.
    @Test func resumeFallsBackFromADamagedCheckpoint() throws {
        let data = try dataset(), output = try TrainerTestSupport.temporaryFolder("fallback")
        defer { for u in [data, output] { try? FileManager.default.removeItem(at: u) } }
        _ = try TrainerTestSupport.trainer(config: TrainerTestSupport.unconditionalConfig, data: data, output: output,
                                           configuration: configuration(steps: 4), encoder: nil).run(resume: false)
        let checkpoints = output.appendingPathComponent("checkpoints")
        #expect(TrainingCheckpoint.list(in: checkpoints).map(\.step) == [2, 4])
        // Cut the newest weights file in half.
        let weights = checkpoints.appendingPathComponent("checkpoint-000004/model.safetensors")
        let bytes = try Data(contentsOf: weights)
        try bytes.prefix(bytes.count / 2).write(to: weights)

        var messages: [String] = []
        let state = try TrainerTestSupport.trainer(config: TrainerTestSupport.unconditionalConfig, data: data, output: output,
                                                   configuration: configuration(steps: 6), encoder: nil).run(resume: true) { event in
            if case .message(let text) = event { messages.append(text) }
            return true
        }
        #expect(messages.contains { $0.contains("cannot read checkpoint-000004") && $0.contains("falling back to checkpoint-000002") }, "\(messages)")
        #expect(messages.contains { $0.contains("resuming from checkpoint-000002") })
        #expect(state.step == 6 && state.losses.count == 6)
    }

    /// A checkpoint write that fails half-way (a full disk; here a tensor name the format reserves)
    /// removes its `.partial` folder; leftovers of a killed run are removed at the next start.
    @Test func unfinishedCheckpointFoldersAreRemoved() throws {
        let folder = try TrainerTestSupport.temporaryFolder("partials")
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(
            #"{"step": 7, "epoch": 0, "position": 0, "randomState": "1", "emaStep": 0, "losses": [], "trainingSeconds": 0}"#.utf8))
        let bad = TrainingCheckpoint(state: state, weights: ["a": Tensor.zeros([2])], emaWeights: nil,
                                     optimizerTensors: ["__metadata__": Tensor.zeros([1])], optimizerMetadata: [:])
        #expect(throws: (any Error).self) { try bad.write(in: folder) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "the failed write left its folder")

        let data = try dataset(), output = try TrainerTestSupport.temporaryFolder("leftovers")
        defer { for u in [data, output] { try? FileManager.default.removeItem(at: u) } }
        let leftovers = [output.appendingPathComponent("checkpoints/.checkpoint-000002.partial"), output.appendingPathComponent(".vae.partial")]
        for url in leftovers { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        // A run that stops before its first step still cleans them.
        _ = try TrainerTestSupport.trainer(config: TrainerTestSupport.unconditionalConfig, data: data, output: output,
                                           configuration: configuration(steps: 2), encoder: nil).run(resume: false) { _ in false }
        #expect(leftovers.allSatisfy { !FileManager.default.fileExists(atPath: $0.path) })
    }

    /// A batch whose activations cannot fit in the machine's memory is refused up front, naming
    /// `batchSize` (it used to trap in an allocation).
    @Test func aBatchBeyondMemoryIsRefused() throws {
        let data = try dataset(), output = try TrainerTestSupport.temporaryFolder("batch")
        defer { for u in [data, output] { try? FileManager.default.removeItem(at: u) } }
        var c = configuration(steps: 1)
        c.batchSize = 1_000_000_000
        #expect { try TrainerTestSupport.trainer(config: TrainerTestSupport.unconditionalConfig, data: data, output: output,
                                                 configuration: c, encoder: nil) } throws: { error in
            guard let error = error as? TrainingError else { return false }
            return error.parameter == "batchSize" && error.description.contains("memory")
        }
    }
}

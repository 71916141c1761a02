import DiffuseFormats
import DiffuseNN
import DiffuseSchedulers
import DiffuseTensor
import DiffuseTraining
import Foundation
import Testing

/// The optimization pieces against PyTorch / diffusers (tools/make_training_fixtures.py).
@Suite struct OptimizerParityTests {
    let file: SafeTensorsFile

    init() throws {
        file = try SafeTensorsFile(url: TrainingTestSupport.fixtures.appendingPathComponent("training/optim.safetensors"))
    }

    func tensor(_ name: String) throws -> Tensor { try TrainingTestSupport.tensor(file, name) }
    func doubles(_ name: String) throws -> [Double] { try file.floats(name).map(Double.init) }

    /// AdamW + clip_grad_norm_ + cosine warm-up schedule, five steps, three parameters.
    @Test func adamWWithClippingAndCosineScheduleMatchesTorch() throws {
        let parameters = try (0 ..< 3).map { i in (key: "p\(i)", parameter: Parameter(try tensor("adamw.init.\(i)"))) }
        let optimizer = AdamW(weightDecay: 1e-2)
        let schedule = LearningRateSchedule(peak: 1e-2, warmupSteps: 2, shape: .cosine, totalSteps: 5)
        let norms = try doubles("adamw.norms"), rates = try doubles("adamw.lrs")
        var worst: Float = 0
        for step in 0 ..< 5 {
            #expect(abs(schedule.rate(at: step) - rates[step]) <= 1e-6 * rates[step], "lr of step \(step)")  // the fixture holds float32
            var gradients: [String: Tensor] = [:]
            for i in 0 ..< 3 { gradients["p\(i)"] = try tensor("adamw.grad.\(step).\(i)") }
            let (clipped, norm) = GradientClipping.clipped(gradients, maxNorm: 1)
            #expect(abs(norm - norms[step]) <= 1e-5 * norms[step], "grad norm of step \(step): \(norm) vs \(norms[step])")
            optimizer.update(parameters, gradients: clipped, learningRate: Float(schedule.rate(at: step)))
            for i in 0 ..< 3 {
                let expected = try tensor("adamw.after.\(step).\(i)")
                worst = max(worst, TrainingTestSupport.maxAbsDiff(parameters[i].parameter.value, expected))
            }
        }
        print("[optim] AdamW vs torch over 5 steps: max abs diff \(worst)")
        #expect(worst < 2e-6)
        #expect(optimizer.stepCount == 5)
    }

    /// A restored optimizer continues exactly like the original.
    @Test func adamWStateRoundTrips() throws {
        let make = { (0 ..< 3).map { i in (key: "p\(i)", parameter: Parameter(try! self.tensor("adamw.init.\(i)"))) } }
        let a = make(), b = make()
        let first = AdamW(), second = AdamW()
        for step in 0 ..< 5 {
            var gradients: [String: Tensor] = [:]
            for i in 0 ..< 3 { gradients["p\(i)"] = try tensor("adamw.grad.\(step).\(i)") }
            first.update(a, gradients: gradients, learningRate: 1e-3)
            if step == 2 {
                second.update(b, gradients: gradients, learningRate: 1e-3)
                let restored = AdamW()
                try restored.restore(tensors: second.stateTensors(), metadata: second.metadata)
                #expect(restored.stepCount == 3)
                for (key, _) in b { #expect(restored.moments(of: key)!.m.scalars == second.moments(of: key)!.m.scalars) }
                // continue with the restored copy
                for step2 in 3 ..< 5 {
                    var g2: [String: Tensor] = [:]
                    for i in 0 ..< 3 { g2["p\(i)"] = try tensor("adamw.grad.\(step2).\(i)") }
                    restored.update(b, gradients: g2, learningRate: 1e-3)
                }
            } else if step < 2 {
                second.update(b, gradients: gradients, learningRate: 1e-3)
            }
        }
        for i in 0 ..< 3 { #expect(a[i].parameter.value.scalars == b[i].parameter.value.scalars) }
        #expect(throws: TrainingError.self) { try AdamW().restore(tensors: ["bogus.p0": Tensor.zeros([1])], metadata: ["optimizer": "AdamW", "step": "1"]) }
    }

    @Test func learningRateSchedulesMatchDiffusers() throws {
        for (shape, name) in [(LearningRateSchedule.Shape.constant, "constant"), (.cosine, "cosine")] {
            let expected = try doubles("lr.\(name)")
            let schedule = LearningRateSchedule(peak: 3e-4, warmupSteps: 10, shape: shape, totalSteps: 50)
            for (step, rate) in expected.enumerated() {
                #expect(abs(schedule.rate(at: step) - rate) <= 1e-6 * rate, "\(name) step \(step): \(schedule.rate(at: step)) vs \(rate)")
            }
        }
    }

    /// diffusers' EMAModel with and without warm-up: the decay of each step and the final average.
    @Test func emaMatchesDiffusersEMAModel() throws {
        for (warmup, tag) in [(true, "warmup"), (false, "plain")] {
            final class Holder: Module { let p = Parameter(Tensor.zeros([6])) }
            let module = Holder()
            let ema = ExponentialMovingAverage(module, maxDecay: 0.999, useWarmup: warmup)
            let decays = try doubles("ema.\(tag).decays")
            for step in 0 ..< 12 {
                module.p.value = Tensor(shape: [6], (0 ..< 6).map { Float($0) * Float(step + 1) * 0.1 + Float(step) })
                ema.update(from: module)
                #expect(abs(ema.decay(forStep: step + 1) - decays[step]) < 1e-6, "\(tag) decay of step \(step + 1)")
            }
            let diff = TrainingTestSupport.maxAbsDiff(ema.weights["p"]!, try tensor("ema.\(tag).average"))
            print("[optim] EMA (\(tag)) vs diffusers: max abs diff \(diff)")
            #expect(diff < 1e-5)
        }
    }

    /// min-SNR-γ weights and the v target / noisy input against diffusers' training utilities.
    @Test func objectiveMatchesDiffusers() throws {
        let timesteps = [0, 10, 100, 500, 999]
        for schedule in ["linear", "scaled_linear", "squaredcos_cap_v2"] {
            for prediction in ["epsilon", "v_prediction"] {
                var values: [String: Any] = ["num_train_timesteps": 1000, "beta_schedule": schedule, "prediction_type": prediction]
                if schedule == "scaled_linear" { values["beta_start"] = 0.00085; values["beta_end"] = 0.012 }
                let objective = try DiffusionObjective(schedulerConfig: SchedulerConfig(dictionary: values), minSNRGamma: 5)
                let expected = try file.floats("snr.\(schedule).\(prediction)")
                for (i, t) in timesteps.enumerated() {
                    let w = objective.lossWeight(t)
                    #expect(abs(w - expected[i]) <= 2e-5 * max(1, abs(expected[i])), "\(schedule) \(prediction) t=\(t): \(w) vs \(expected[i])")
                }
            }
        }
        let objective = try DiffusionObjective(schedulerConfig: SchedulerConfig(dictionary: ["prediction_type": "v_prediction"]))
        let batch = objective.batch(clean: try tensor("target.x0"), noise: try tensor("target.noise"), timesteps: timesteps)
        let dv = TrainingTestSupport.maxAbsDiff(batch.target, try tensor("target.v"))
        let dx = TrainingTestSupport.maxAbsDiff(batch.noisy, try tensor("target.noisy"))
        print("[optim] v target max abs diff \(dv), noisy input \(dx)")
        #expect(dv < 1e-5 && dx < 1e-5)
        #expect(batch.weights == nil)
    }
}

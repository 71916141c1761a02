import DiffuseSchedulers
import DiffuseTensor
import Foundation
import Testing

/// Stable Diffusion 1.5's scheduler_config.json, as published.
let sd15ConfigJSON = """
{
  "_class_name": "PNDMScheduler",
  "_diffusers_version": "0.6.0",
  "beta_end": 0.012,
  "beta_schedule": "scaled_linear",
  "beta_start": 0.00085,
  "num_train_timesteps": 1000,
  "set_alpha_to_one": false,
  "skip_prk_steps": true,
  "steps_offset": 1,
  "trained_betas": null,
  "clip_sample": false
}
"""

func sd15Config() throws -> SchedulerConfig {
    try SchedulerConfig(jsonData: Data(sd15ConfigJSON.utf8))
}

/// A random source that counts what is drawn from it.
struct CountingRandomSource: RandomSource {
    var inner = TorchRandomSource(seed: 7)
    var shapes: [[Int]] = []
    mutating func randn(_ shape: [Int]) -> Tensor {
        shapes.append(shape)
        return inner.randn(shape)
    }
    mutating func rand(_ shape: [Int]) -> Tensor {
        shapes.append(shape)
        return inner.rand(shape)
    }
}

@Suite struct SchedulerFactoryTests {
    static let expected: [(name: String, className: String, displayName: String, order: Int)] = [
        ("pndm", "PNDMScheduler", "PNDM", 1),
        ("ddim", "DDIMScheduler", "DDIM", 1),
        ("ddpm", "DDPMScheduler", "DDPM", 1),
        ("euler", "EulerDiscreteScheduler", "Euler", 1),
        ("euler_a", "EulerAncestralDiscreteScheduler", "Euler a", 1),
        ("heun", "HeunDiscreteScheduler", "Heun", 2),
        ("lms", "LMSDiscreteScheduler", "LMS", 1),
        ("dpmpp_2m", "DPMSolverMultistepScheduler", "DPM++ 2M", 1),
        ("dpmpp_2m_karras", "DPMSolverMultistepScheduler", "DPM++ 2M Karras", 1),
        ("unipc", "UniPCMultistepScheduler", "UniPC", 1),
        ("lcm", "LCMScheduler", "LCM", 1),
        ("tcd", "TCDScheduler", "TCD", 1),
    ]

    @Test func everyNameDecodesTheSD15Config() throws {
        #expect(Schedulers.names == Self.expected.map(\.name))
        let config = try sd15Config()
        for entry in Self.expected {
            var scheduler = try Schedulers.make(name: entry.name, config: config)
            #expect(scheduler.className == entry.className, "\(entry.name)")
            #expect(scheduler.displayName == entry.displayName, "\(entry.name)")
            #expect(scheduler.order == entry.order, "\(entry.name)")
            // Every key is kept; the dpmpp names add the options they fix (as from_config's kwargs do).
            for (key, value) in config.values {
                #expect(scheduler.config[key] == value, "\(entry.name) keeps \(key)")
            }
            let added = Set(scheduler.config.values.keys).subtracting(config.values.keys)
            #expect(added.isSubset(of: ["algorithm_type", "solver_order", "use_karras_sigmas"]), "\(entry.name): \(added)")
            try scheduler.setTimesteps(20)
            #expect(scheduler.numInferenceSteps == 20, "\(entry.name)")
            #expect(!scheduler.timesteps.isEmpty && scheduler.timesteps.allSatisfy { $0 >= 0 && $0 < 1000 }, "\(entry.name)")
            #expect(scheduler.initNoiseSigma >= 1 && scheduler.initNoiseSigma.isFinite, "\(entry.name)")
        }
    }

    /// DDPM may run every training timestep (the 1000-step reference); the index-based samplers
    /// stop at half, and offsets that leave the trained range are refused for DDPM too.
    @Test func stepLimitsPerSampler() throws {
        let config = try sd15Config()
        let ddpm = try Schedulers.make(name: "ddpm", config: config.merging(["steps_offset": .number(0)]), steps: 1000)
        #expect(ddpm.timesteps.count == 1000 && ddpm.timesteps.first == 999 && ddpm.timesteps.last == 0)
        #expect(throws: SchedulerError.self) { try Schedulers.make(name: "ddpm", config: config, steps: 1001) }
        #expect(throws: SchedulerError.self) { try Schedulers.make(name: "ddpm", config: config.merging(["steps_offset": .number(1)]), steps: 1000) }
        #expect(throws: SchedulerError.self) { try Schedulers.make(name: "euler", config: config, steps: 1000) }
        #expect(try Schedulers.make(name: "euler", config: config, steps: 500).timesteps.count == 500)
    }

    @Test func nilNameUsesTheConfigsClassName() throws {
        let pndm = try Schedulers.make(name: nil, config: sd15Config())
        #expect(pndm.className == "PNDMScheduler")
        for className in Schedulers.classNames {
            var config = try sd15Config()
            config["_class_name"] = .string(className)
            #expect(try Schedulers.make(name: nil, config: config).className == className)
        }
        var karras = try sd15Config()
        karras["_class_name"] = .string("DPMSolverMultistepScheduler")
        karras["use_karras_sigmas"] = .bool(true)
        #expect(try Schedulers.make(name: nil, config: karras).displayName == "DPM++ 2M Karras")
        karras["algorithm_type"] = .string("sde-dpmsolver++")
        #expect(try Schedulers.make(name: nil, config: karras).displayName == "DPM++ 2M SDE Karras")
    }

    @Test func unknownNamesAndClassesThrow() throws {
        let config = try sd15Config()
        do {
            _ = try Schedulers.make(name: "euler_ancestral", config: config)
            Issue.record("an unknown sampler name must throw")
        } catch let error as SchedulerError {
            #expect(error == .unknownSampler(name: "euler_ancestral", validNames: Schedulers.names))
            for name in Schedulers.names { #expect(error.description.contains(name)) }
        }
        var other = config
        other["_class_name"] = .string("KDPM2DiscreteScheduler")
        #expect(throws: SchedulerError.unknownClassName("KDPM2DiscreteScheduler", supported: Schedulers.classNames)) {
            _ = try Schedulers.make(name: nil, config: other)
        }
        other["_class_name"] = nil
        #expect(throws: SchedulerError.self) { _ = try Schedulers.make(name: nil, config: other) }
    }

    /// Each entry: sampler, overrides, the option the error must name.
    static let unsupported: [(String, [String: SchedulerConfig.Value], String)] = [
        ("ddim", ["thresholding": .bool(true)], "thresholding"),
        ("ddpm", ["thresholding": .bool(true)], "thresholding"),
        ("dpmpp_2m", ["thresholding": .bool(true)], "thresholding"),
        ("unipc", ["thresholding": .bool(true)], "thresholding"),
        ("ddpm", ["variance_type": .string("learned_range")], "variance_type"),
        ("ddpm", ["variance_type": .string("fixed_large_log")], "variance_type"),
        ("euler", ["use_beta_sigmas": .bool(true)], "use_beta_sigmas"),
        ("euler", ["timestep_type": .string("continuous"), "prediction_type": .string("v_prediction")], "timestep_type"),
        ("euler", ["interpolation_type": .string("cubic")], "interpolation_type"),
        ("euler", ["timestep_spacing": .string("karras")], "timestep_spacing"),
        ("euler_a", ["prediction_type": .string("sample")], "prediction_type"),
        ("pndm", ["prediction_type": .string("sample")], "prediction_type"),
        ("lms", ["beta_schedule": .string("exp")], "beta_schedule"),
        ("heun", ["beta_schedule": .string("sigmoid")], "beta_schedule"),
        ("dpmpp_2m", ["prediction_type": .string("flow_prediction")], "prediction_type"),
        ("dpmpp_2m", ["use_lu_lambdas": .bool(true)], "use_lu_lambdas"),
        ("dpmpp_2m", ["use_flow_sigmas": .bool(true)], "use_flow_sigmas"),
        ("dpmpp_2m", ["variance_type": .string("learned_range")], "variance_type"),
        ("dpmpp_2m", ["final_sigmas_type": .string("denoised")], "final_sigmas_type"),
        ("unipc", ["solver_type": .string("bh1")], "solver_type"),
        ("unipc", ["predict_x0": .bool(false)], "predict_x0"),
        ("unipc", ["use_dynamic_shifting": .bool(true)], "use_dynamic_shifting"),
        ("unipc", ["solver_p": ["_class_name": "DDIMScheduler"]], "solver_p"),
        ("lcm", ["thresholding": .bool(true)], "thresholding"),
        ("lcm", ["beta_schedule": .string("sigmoid")], "beta_schedule"),
        ("tcd", ["prediction_type": .string("flow_prediction")], "prediction_type"),
    ]

    @Test func unsupportedOptionsThrowNamingTheOption() throws {
        for (sampler, overrides, option) in Self.unsupported {
            let config = try sd15Config().merging(overrides)
            do {
                _ = try Schedulers.make(name: sampler, config: config)
                Issue.record("\(sampler) with \(overrides) must throw")
            } catch let error as SchedulerError {
                guard case .unsupportedOption(_, let named, _, _) = error else {
                    Issue.record("\(sampler) with \(overrides): wrong error \(error)")
                    continue
                }
                #expect(named == option, "\(sampler) with \(overrides): \(error)")
                #expect(error.description.contains(option))
            }
        }
        // DPM-Solver (not ++) ending at σ = 0 is rejected by diffusers itself.
        var dpm = try sd15Config()
        dpm["algorithm_type"] = .string("dpmsolver")
        #expect(throws: SchedulerError.self) { _ = try DPMSolverMultistepScheduler(config: dpm) }
        dpm["final_sigmas_type"] = .string("sigma_min")
        #expect(try DPMSolverMultistepScheduler(config: dpm).displayName == "DPM 2M")
    }

    @Test func wronglyTypedValuesAndBadArgumentsThrow() throws {
        var config = try sd15Config()
        config["num_train_timesteps"] = .string("1000")
        #expect(throws: SchedulerError.self) { _ = try Schedulers.make(name: "euler", config: config) }
        config = try sd15Config()
        config["trained_betas"] = .array([.double(0.1), .double(0.2)])
        #expect(throws: SchedulerError.self) { _ = try Schedulers.make(name: "ddim", config: config) }
        #expect(throws: SchedulerError.self) { _ = try SchedulerConfig(jsonData: Data("[1, 2]".utf8)) }
        #expect(throws: SchedulerError.self) { _ = try SchedulerConfig(jsonData: Data("{".utf8)) }
        for entry in Self.expected {
            var scheduler = try Schedulers.make(name: entry.name, config: sd15Config())
            #expect(throws: SchedulerError.self, "\(entry.name)") { try scheduler.setTimesteps(0) }
        }
    }

    @Test func unknownKeysAreIgnoredAndDefaultsAreThePerClassOnes() throws {
        var config = try sd15Config()
        config["some_future_option"] = ["nested": [1]]
        var euler = try Schedulers.make(name: "euler", config: config)
        try euler.setTimesteps(10)
        // EulerDiscrete's default spacing is "linspace" (PNDM's is "leading").
        #expect(euler.timesteps.first == 999)
        let eulerSigmas = try #require(euler as? EulerDiscreteScheduler).sigmas
        #expect(euler.initNoiseSigma == eulerSigmas.max())
        #expect(eulerSigmas.count == 11 && eulerSigmas.last == 0)
        var pndm = try Schedulers.make(name: "pndm", config: config)
        try pndm.setTimesteps(10)
        #expect(pndm.timesteps == [901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1])

        // Keys listed in _use_default_values are dropped, so the class default applies.
        config["timestep_spacing"] = .string("trailing")
        var trailing = try Schedulers.make(name: "euler", config: config)
        try trailing.setTimesteps(10)
        #expect(trailing.timesteps.prefix(2) == [999, 899])
        config["_use_default_values"] = .array([.string("timestep_spacing")])
        var defaulted = try Schedulers.make(name: "euler", config: config)
        try defaulted.setTimesteps(10)
        #expect(defaulted.timesteps.prefix(2) == [999, 888])
        // …but an explicit override (from_config(config, key=value)) wins.
        var overridden = try Schedulers.make(name: "euler", config: config.merging(["timestep_spacing": .string("trailing")]))
        try overridden.setTimesteps(10)
        #expect(overridden.timesteps.prefix(2) == [999, 899])
    }

    @Test func configFromJSONSerializationKeepsTypes() throws {
        let object = try JSONSerialization.jsonObject(with: Data(sd15ConfigJSON.utf8))
        let dictionary = try #require(object as? [String: Any])
        let config = try SchedulerConfig(dictionary: dictionary)
        #expect(config == (try sd15Config()))
        #expect(config["skip_prk_steps"] == .bool(true))
        #expect(config["steps_offset"] == .number(1))
        #expect(config["trained_betas"] == .null)
        let literal = try SchedulerConfig(dictionary: ["a": true, "b": 1, "c": 0.5, "d": "x", "e": [1, 2], "f": NSNull()])
        #expect(literal.values == ["a": .bool(true), "b": .number(1), "c": .double(0.5), "d": .string("x"),
                                   "e": .array([.number(1), .number(2)]), "f": .null])
        let roundTrip = try SchedulerConfig(jsonData: config.jsonData())
        #expect(roundTrip == config)
    }

    @Test func noiseIsDrawnExactlyWhenDiffusersDrawsIt() throws {
        let config = try sd15Config()
        let steps = 6
        // Expected randn calls per run with the SD 1.5 config (all timesteps > 0 with steps_offset 1).
        let expectedDraws: [String: Int] = [
            "pndm": 0, "ddim": 0, "ddpm": steps, "euler": 0, "euler_a": steps, "heun": 0, "lms": 0,
            "dpmpp_2m": 0, "dpmpp_2m_karras": 0, "unipc": 0,
            // LCM, and TCD at its default eta 0.3: after every step but the last.
            "lcm": steps - 1, "tcd": steps - 1,
        ]
        for name in Schedulers.names {
            var scheduler = try Schedulers.make(name: name, config: config)
            try scheduler.setTimesteps(steps)
            var random: any RandomSource = CountingRandomSource()
            var latents = Tensor(shape: [1, 4, 2, 3], repeating: 0.5)
            for t in scheduler.timesteps {
                let input = scheduler.scaleModelInput(latents, timestep: t)
                latents = scheduler.step(modelOutput: input * Float(0.1), timestep: t, sample: latents, random: &random)
            }
            let shapes = (random as? CountingRandomSource)?.shapes ?? []
            #expect(shapes.count == expectedDraws[name], "\(name): \(shapes.count) draws")
            #expect(shapes.allSatisfy { $0 == [1, 4, 2, 3] }, "\(name)")
            #expect(latents.scalars.allSatisfy { $0.isFinite }, "\(name)")
        }
        var sde = try DPMSolverMultistepScheduler(config: config.merging(["algorithm_type": .string("sde-dpmsolver++")]))
        try sde.setTimesteps(steps)
        var random: any RandomSource = CountingRandomSource()
        var latents = Tensor(shape: [1, 4, 2, 3], repeating: 0.5)
        for t in sde.timesteps {
            latents = sde.step(modelOutput: latents * Float(0.1), timestep: t, sample: latents, random: &random)
        }
        #expect((random as? CountingRandomSource)?.shapes.count == steps)
        var ddim = try DDIMScheduler(config: config)
        ddim.eta = 1
        try ddim.setTimesteps(steps)
        random = CountingRandomSource()
        for t in ddim.timesteps {
            latents = ddim.step(modelOutput: latents * Float(0.1), timestep: t, sample: latents, random: &random)
        }
        #expect((random as? CountingRandomSource)?.shapes.count == steps)
    }

    @Test func img2imgTruncationFollowsTheOrder() throws {
        var heun = try Schedulers.make(name: "heun", config: sd15Config())
        try heun.setTimesteps(10)
        #expect(heun.timesteps.count == 19)
        let kept = heun.img2imgTimesteps(steps: 10, strength: 0.6)
        #expect(heun.beginIndex == 8)
        #expect(kept == Array(heun.timesteps[8...]))
        var ddim = try Schedulers.make(name: "ddim", config: sd15Config())
        try ddim.setTimesteps(10)
        #expect(ddim.img2imgTimesteps(steps: 10, strength: 0.6) == [501, 401, 301, 201, 101, 1])
        #expect(ddim.beginIndex == nil)
        #expect(ddim.img2imgTimesteps(steps: 10, strength: 0).isEmpty)
    }

    /// LCM and TCD on SD 1.5's PNDM config (LCM-LoRA's case): diffusers' skipping timesteps, and
    /// img2img shortening the origin schedule as LatentConsistencyModelImg2ImgPipeline does.
    @Test func consistencySamplersPlaceDiffusersTimesteps() throws {
        for name in ["lcm", "tcd"] {
            var scheduler = try Schedulers.make(name: name, config: sd15Config())
            try scheduler.setTimesteps(4)
            #expect(scheduler.timesteps == [999, 759, 499, 259], "\(name)")
            try scheduler.setTimesteps(1)
            #expect(scheduler.timesteps == [999], "\(name)")
            try scheduler.setTimesteps(50)
            #expect(scheduler.timesteps.count == 50 && scheduler.timesteps.last == 19, "\(name)")
            try scheduler.setTimesteps(4)
            #expect(scheduler.img2imgTimesteps(steps: 4, strength: 0.5) == [499, 379, 259, 139], "\(name)")
            #expect(scheduler.timesteps == [499, 379, 259, 139] && scheduler.beginIndex == nil, "\(name)")
            #expect(scheduler.img2imgTimesteps(steps: 4, strength: 0.75) == [739, 559, 379, 199], "\(name)")
            // Int(50 · 0.07) = 3 distillation timesteps cannot give 4 steps (diffusers raises).
            #expect(scheduler.img2imgTimesteps(steps: 4, strength: 0.07).isEmpty, "\(name)")
            #expect(scheduler.img2imgTimesteps(steps: 4, strength: 0).isEmpty, "\(name)")
        }
        var custom = try Schedulers.make(name: "lcm", config: sd15Config().merging(["original_inference_steps": .number(25)]))
        try custom.setTimesteps(3)
        #expect(custom.timesteps == [999, 679, 359])
        // The generic truncation stays available (StableDiffusionImg2ImgPipeline.get_timesteps).
        var truncated = try Schedulers.make(name: "lcm", config: sd15Config())
        try truncated.setTimesteps(4)
        #expect(truncated.truncatedTimesteps(steps: 4, strength: 0.5) == [499, 259])
        #expect(truncated.beginIndex == 2)
    }

    @Test func consistencySamplersRefuseWhatDiffusersRaisesOn() throws {
        for name in ["lcm", "tcd"] {
            do {
                _ = try Schedulers.make(name: name, config: sd15Config(), steps: 60)
                Issue.record("\(name): 60 steps must throw")
            } catch let error as SchedulerError {
                guard case .invalidArgument(let message) = error else { Issue.record("\(name): \(error)"); continue }
                #expect(message.hasPrefix("steps 60 "), "\(message)")
                #expect(message.contains("original_inference_steps (50)"), "\(message)")
                #expect(!message.contains("\n"))
            }
            for value in [0.0, 2000.0] {
                let config = try sd15Config().merging(["original_inference_steps": .double(value)])
                #expect(throws: SchedulerError.invalidConfig(key: "original_inference_steps",
                                                             message: "\(name == "lcm" ? "LCMScheduler" : "TCDScheduler"): original_inference_steps \(Int(value)) is not in 1 ... num_train_timesteps (1000)")) {
                    _ = try Schedulers.make(name: name, config: config)
                }
            }
        }
        var tcd = try TCDScheduler(config: sd15Config())
        #expect(tcd.eta == 0.3)
        for bad: Float in [-0.1, 1.01, .nan] {
            do {
                try tcd.setEta(bad)
                Issue.record("eta \(bad) must throw")
            } catch let error as SchedulerError {
                guard case .invalidArgument(let message) = error else { Issue.record("\(error)"); continue }
                #expect(message.hasPrefix("eta "), "\(message)")
            }
        }
        #expect(tcd.eta == 0.3)
        try tcd.setEta(0)
        #expect(tcd.eta == 0)
        try tcd.setEta(1)
        #expect(tcd.eta == 1)
    }

    /// TCD draws nothing at eta 0; LCM and TCD (eta > 0) draw after every step but the last, so a
    /// one-step run draws nothing.
    @Test func consistencySamplersDrawNoiseAsDiffusers() throws {
        let runs: [(name: String, eta: Float, steps: Int, draws: Int)] = [("tcd", 0, 4, 0), ("tcd", 1, 4, 3), ("lcm", 0, 1, 0), ("tcd", 0.3, 1, 0)]
        for (name, eta, steps, draws) in runs {
            var scheduler = try Schedulers.make(name: name, config: sd15Config())
            if var tcd = scheduler as? TCDScheduler {
                try tcd.setEta(eta)
                scheduler = tcd
            }
            try scheduler.setTimesteps(steps)
            var random: any RandomSource = CountingRandomSource()
            var latents = Tensor(shape: [1, 4, 2, 3], repeating: 0.5)
            for t in scheduler.timesteps {
                latents = scheduler.step(modelOutput: latents * Float(0.1), timestep: t, sample: latents, random: &random)
            }
            #expect((random as? CountingRandomSource)?.shapes.count == draws, "\(name) eta \(eta), \(steps) steps")
        }
    }
}

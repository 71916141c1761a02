import DiffuseSchedulers
import DiffuseTensor
import Foundation
import Testing

/// One recorded diffusers run (see tools/make_scheduler_fixtures.py).
struct ParityCase {
    let sampler: String
    let configName: String
    let config: SchedulerConfig
    let overrides: [String: SchedulerConfig.Value]
    let steps: Int
    let eta: Float?
    let className: String
    let timesteps: [Float]
    let initNoiseSigma: Float
    let textToImage: [Float]
    /// The img2img strength (0.6 for the samplers run as StableDiffusionImg2ImgPipeline; 0.5 or
    /// 0.75 for LCM and TCD, run as LatentConsistencyModelImg2ImgPipeline).
    let strength: Double
    let img2imgTimesteps: [Float]
    let img2imgBeginIndex: Int?
    let img2imgLatent: [Float]
    /// LCM and TCD only: the img2img run as StableDiffusionImg2ImgPipeline does it (timesteps,
    /// begin index, latent); nil where the strength leaves no step or for the other samplers.
    let truncated: (timesteps: [Float], beginIndex: Int, latent: [Float])?
    let addNoiseTimestep: Float
    let addNoiseResult: [Float]

    var label: String {
        var extra = overrides.isEmpty ? "" : " \(SchedulerConfig.Value.object(sorting: overrides))"
        if let eta { extra += " eta \(eta)" }
        if strength != 0.6 { extra += " strength \(strength)" }
        return "\(sampler)/\(configName)/\(steps) steps\(extra)"
    }
}

struct ParityFixture {
    let shape: [Int]
    let seed: UInt64
    let cases: [ParityCase]

    static func load() throws -> ParityFixture {
        let doc = try Fixtures.json("schedulers.json")
        let configs = try doc.value("configs", as: [String: Any].self)
        var cases: [ParityCase] = []
        for entry in try doc.value("cases", as: [[String: Any]].self) {
            let configName = try entry.value("config", as: String.self)
            guard let base = configs[configName] as? [String: Any] else {
                throw FixtureError.malformed("unknown config \(configName)")
            }
            let overrides = try entry.value("overrides", as: [String: Any].self).mapValues(SchedulerConfig.Value.init(any:))
            // Plain dictionary merge, as the fixture script does (so `_use_default_values` set by
            // an override still applies).
            var config = try SchedulerConfig(dictionary: base)
            for (key, value) in overrides { config[key] = value }
            let kwargs = try entry.value("step_kwargs", as: [String: Any].self)
            let img2img = try entry.value("img2img", as: [String: Any].self)
            let addNoise = try entry.value("add_noise", as: [String: Any].self)
            var truncated: (timesteps: [Float], beginIndex: Int, latent: [Float])? = nil
            if let run = entry["img2img_truncated"] as? [String: Any] {
                truncated = (try run.floats("timesteps"), try run.value("begin_index", as: NSNumber.self).intValue,
                             try run.floats("latent"))
            }
            cases.append(ParityCase(
                sampler: try entry.value("sampler", as: String.self), configName: configName, config: config,
                overrides: overrides, steps: try entry.value("steps", as: NSNumber.self).intValue,
                eta: (kwargs["eta"] as? NSNumber)?.floatValue,
                className: try entry.value("class", as: String.self), timesteps: try entry.floats("timesteps"),
                initNoiseSigma: try entry.value("init_noise_sigma", as: NSNumber.self).floatValue,
                textToImage: try entry.floats("txt2img"),
                strength: try img2img.value("strength", as: NSNumber.self).doubleValue,
                img2imgTimesteps: try img2img.floats("timesteps"),
                img2imgBeginIndex: (img2img["begin_index"] as? NSNumber)?.intValue,
                img2imgLatent: try img2img.floats("latent"), truncated: truncated,
                addNoiseTimestep: try addNoise.value("timestep", as: NSNumber.self).floatValue,
                addNoiseResult: try addNoise.floats("result")))
        }
        return ParityFixture(shape: try doc.ints("shape"), seed: try doc.value("seed", as: NSNumber.self).uint64Value,
                             cases: cases)
    }
}

/// Builds the scheduler of a case: through `Schedulers.make` unless an override replaces one of the
/// keys the `dpmpp_2m…` names fix, in which case the DPM-Solver class is built directly with the
/// remaining fixed keys (as the fixture script passes them to `from_config`).
func makeScheduler(_ c: ParityCase) throws -> any Scheduler {
    var fixed: [String: SchedulerConfig.Value] = [:]
    if c.sampler.hasPrefix("dpmpp_2m") {
        fixed = ["algorithm_type": .string("dpmsolver++"), "solver_order": .number(2)]
        if c.sampler == "dpmpp_2m_karras" { fixed["use_karras_sigmas"] = .bool(true) }
    }
    var scheduler: any Scheduler
    if fixed.keys.contains(where: { c.overrides[$0] != nil }) {
        scheduler = try DPMSolverMultistepScheduler(config: c.config.merging(fixed.filter { c.overrides[$0.key] == nil }))
    } else {
        scheduler = try Schedulers.make(name: c.sampler, config: c.config)
    }
    if let eta = c.eta {
        if var ddim = scheduler as? DDIMScheduler {
            ddim.eta = eta
            scheduler = ddim
        } else if var tcd = scheduler as? TCDScheduler {
            try tcd.setEta(eta)
            scheduler = tcd
        } else {
            throw FixtureError.malformed("eta for a case that is neither DDIM nor TCD")
        }
    }
    return scheduler
}

/// The fake denoiser of the fixtures: 0.3·x + float32(0.1·sin(t/100)).
func fakeModel(_ input: Tensor, _ t: Float) -> Tensor {
    input * Float(0.3) + Float(0.1 * sin(Double(t) / 100))
}

func pattern(_ kind: String, count: Int) -> [Float] {
    (0 ..< count).map { i in
        kind == "image" ? Float(0.8 * sin(0.37 * Double(i))) : Float(cos(0.23 * Double(i)))
    }
}

/// Largest differences per sampler, printed as a table at the end of a test.
struct DifferenceReport {
    private var worst: [String: (Float, String)] = [:]

    mutating func record(_ sampler: String, _ difference: Float, _ label: String) {
        if difference.isNaN || difference > (worst[sampler]?.0 ?? -1) { worst[sampler] = (difference, label) }
    }

    func print(_ title: String) {
        Swift.print("\(title): max |Swift − diffusers| per sampler")
        for sampler in Schedulers.names where worst[sampler] != nil {
            let (difference, label) = worst[sampler]!
            Swift.print("  \(sampler.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(format: "%.3g", difference))   (\(label))")
        }
    }
}

@Suite(.serialized) struct SchedulerParityTests {
    static let tolerance: Float = 1e-5

    @Test func fixtureCoversEverySamplerAndConfig() throws {
        let fixture = try ParityFixture.load()
        #expect(fixture.cases.count >= 100)
        for sampler in Schedulers.names {
            let configs = Set(fixture.cases.filter { $0.sampler == sampler }.map(\.configName))
            #expect(configs.isSuperset(of: ["sd15", "sd2v"]), "\(sampler) lacks a config: \(configs)")
        }
        let lcm = fixture.cases.filter { $0.sampler == "lcm" }
        #expect(Set(lcm.map(\.steps)).isSuperset(of: [1, 2, 4, 8]) && Set(lcm.map(\.strength)) == [0.5, 0.75])
        #expect(Set(fixture.cases.filter { $0.sampler == "tcd" }.compactMap(\.eta)) == [0, 0.3, 1])
    }

    @Test func timestepsAndInitialNoiseSigmaMatch() throws {
        let fixture = try ParityFixture.load()
        for c in fixture.cases {
            var scheduler = try makeScheduler(c)
            #expect(scheduler.className == c.className, "\(c.label)")
            try scheduler.setTimesteps(c.steps)
            #expect(scheduler.timesteps.count == c.timesteps.count, "\(c.label): \(scheduler.timesteps) vs \(c.timesteps)")
            // Integer timesteps must agree exactly; fractional (Karras-style) ones to float32 rounding.
            let worst = zip(scheduler.timesteps, c.timesteps).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst <= 2e-6, "\(c.label): timesteps \(scheduler.timesteps) vs \(c.timesteps)")
            let sigmaError = abs(scheduler.initNoiseSigma - c.initNoiseSigma) / max(1, c.initNoiseSigma)
            #expect(sigmaError <= 1e-6, "\(c.label): init_noise_sigma \(scheduler.initNoiseSigma) vs \(c.initNoiseSigma)")
        }
    }

    @Test func textToImageLoopsMatch() throws {
        let fixture = try ParityFixture.load()
        var report = DifferenceReport()
        for c in fixture.cases {
            var scheduler = try makeScheduler(c)
            try scheduler.setTimesteps(c.steps)
            var random: any RandomSource = TorchRandomSource(seed: fixture.seed)
            var latents = random.randn(fixture.shape) * scheduler.initNoiseSigma
            for t in scheduler.timesteps {
                let input = scheduler.scaleModelInput(latents, timestep: t)
                latents = scheduler.step(modelOutput: fakeModel(input, t), timestep: t, sample: latents, random: &random)
            }
            #expect(latents.shape == fixture.shape)
            let difference = maxAbsDifference(latents.scalars, c.textToImage)
            report.record(c.sampler, difference, c.label)
            #expect(difference <= Self.tolerance, "\(c.label): max difference \(difference)")
        }
        report.print("text-to-image")
    }

    @Test func imageToImageLoopsMatch() throws {
        let fixture = try ParityFixture.load()
        var report = DifferenceReport()
        let count = fixture.shape.reduce(1, *)
        let image = Tensor(shape: fixture.shape, pattern("image", count: count))
        for c in fixture.cases {
            var scheduler = try makeScheduler(c)
            try scheduler.setTimesteps(c.steps)
            let timesteps = scheduler.img2imgTimesteps(steps: c.steps, strength: c.strength)
            #expect(timesteps == c.img2imgTimesteps || maxAbsDifference(timesteps, c.img2imgTimesteps) <= 1e-3,
                    "\(c.label): img2img timesteps \(timesteps) vs \(c.img2imgTimesteps)")
            #expect(scheduler.beginIndex == c.img2imgBeginIndex, "\(c.label): begin index")
            guard let first = timesteps.first else { continue }
            var random: any RandomSource = TorchRandomSource(seed: fixture.seed)
            let noise = random.randn(fixture.shape)
            var latents = scheduler.addNoise(original: image, noise: noise, timestep: first)
            for t in timesteps {
                let input = scheduler.scaleModelInput(latents, timestep: t)
                latents = scheduler.step(modelOutput: fakeModel(input, t), timestep: t, sample: latents, random: &random)
            }
            let difference = maxAbsDifference(latents.scalars, c.img2imgLatent)
            report.record(c.sampler, difference, c.label)
            #expect(difference <= Self.tolerance, "\(c.label): img2img max difference \(difference)")
        }
        report.print("img2img (strength 0.6; LCM and TCD 0.5 and 0.75)")
    }

    /// LCM and TCD in StableDiffusionImg2ImgPipeline (diffusers' documented LCM-LoRA img2img):
    /// `truncatedTimesteps` and a begin index instead of the shortened origin schedule.
    @Test func consistencySamplersTruncatedImg2ImgMatches() throws {
        let fixture = try ParityFixture.load()
        var report = DifferenceReport()
        let count = fixture.shape.reduce(1, *)
        let image = Tensor(shape: fixture.shape, pattern("image", count: count))
        let cases = fixture.cases.filter { ["lcm", "tcd"].contains($0.sampler) }
        #expect(cases.filter { $0.truncated != nil }.count >= 20)
        for c in cases {
            var scheduler = try makeScheduler(c)
            try scheduler.setTimesteps(c.steps)
            let timesteps = scheduler.truncatedTimesteps(steps: c.steps, strength: c.strength)
            guard let expected = c.truncated else {
                #expect(timesteps.isEmpty, "\(c.label): \(timesteps)")
                continue
            }
            #expect(timesteps == expected.timesteps && scheduler.beginIndex == expected.beginIndex, "\(c.label): \(timesteps)")
            var random: any RandomSource = TorchRandomSource(seed: fixture.seed)
            var latents = scheduler.addNoise(original: image, noise: random.randn(fixture.shape), timestep: timesteps[0])
            for t in timesteps {
                let input = scheduler.scaleModelInput(latents, timestep: t)
                latents = scheduler.step(modelOutput: fakeModel(input, t), timestep: t, sample: latents, random: &random)
            }
            let difference = maxAbsDifference(latents.scalars, expected.latent)
            report.record(c.sampler, difference, c.label)
            #expect(difference <= Self.tolerance, "\(c.label): truncated img2img max difference \(difference)")
        }
        report.print("img2img as StableDiffusionImg2ImgPipeline (truncatedTimesteps)")
    }

    @Test func addNoiseMatches() throws {
        let fixture = try ParityFixture.load()
        var report = DifferenceReport()
        let count = fixture.shape.reduce(1, *)
        let image = Tensor(shape: fixture.shape, pattern("image", count: count))
        let noise = Tensor(shape: fixture.shape, pattern("noise", count: count))
        for c in fixture.cases {
            var scheduler = try makeScheduler(c)
            try scheduler.setTimesteps(c.steps)
            let t = scheduler.timesteps[min(3, scheduler.timesteps.count - 1)]
            #expect(abs(t - c.addNoiseTimestep) <= 1e-3, "\(c.label): add_noise timestep")
            let noised = scheduler.addNoise(original: image, noise: noise, timestep: t)
            let difference = maxAbsDifference(noised.scalars, c.addNoiseResult)
            report.record(c.sampler, difference, c.label)
            #expect(difference <= Self.tolerance, "\(c.label): add_noise max difference \(difference)")
        }
        report.print("add_noise")
    }
}

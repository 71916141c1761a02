import DiffuseSchedulers
import Foundation
import Testing

/// Noise-schedule values that make ᾱ NaN or infinite are refused when the config is read, with
/// an error naming the key (they used to reach the samplers and end in a NaN image or a trap).
@Suite struct SchedulerConfigValidationTests {
    func expectRefusal(_ json: String, key: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try SchedulerConfig(jsonData: Data(json.utf8))
            Issue.record("accepted \(json)", sourceLocation: sourceLocation)
        } catch SchedulerError.invalidConfig(let found, let message) {
            #expect(found == key && message.contains(key), "\(message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("threw \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func valuesThatMakeNaNAreRefusedByKey() throws {
        expectRefusal(#"{"_class_name": "EulerDiscreteScheduler", "beta_end": -0.012}"#, key: "beta_end")
        expectRefusal(#"{"_class_name": "DDIMScheduler", "beta_start": 0, "beta_end": 0.02}"#, key: "beta_start")
        expectRefusal(#"{"_class_name": "DDIMScheduler", "beta_end": 1.5}"#, key: "beta_end")
        expectRefusal(#"{"_class_name": "PNDMScheduler", "num_train_timesteps": 1e9}"#, key: "num_train_timesteps")
        expectRefusal(#"{"_class_name": "PNDMScheduler", "num_train_timesteps": 2, "trained_betas": [0.5, 2.0]}"#, key: "trained_betas")
        #expect(throws: SchedulerError.self) { try SchedulerConfig(dictionary: ["beta_end": -1.0]) }
        // A valid config, and a bad value diffusers would replace by its default, still load.
        _ = try SchedulerConfig(jsonData: Data(#"{"beta_start": 0.00085, "beta_end": 0.012, "num_train_timesteps": 1000}"#.utf8))
        _ = try SchedulerConfig(jsonData: Data(#"{"beta_end": -1, "_use_default_values": ["beta_end"]}"#.utf8))
    }
}

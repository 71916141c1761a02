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

    /// A config read from a file is named by its path in every error, with the key (and, for a
    /// value a class reads, the class).
    @Test func errorsNameTheFileAndTheKey() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-scheduler-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("scheduler_config.json")
        try Data(#"{"_class_name": "EulerDiscreteScheduler", "num_train_timesteps": "1000"}"#.utf8).write(to: url)
        let config = try SchedulerConfig(contentsOf: url)
        #expect(throws: SchedulerError.invalidConfig(key: "num_train_timesteps", message: "\(url.path) (EulerDiscreteScheduler): \"num_train_timesteps\" should be an integer, found \"1000\"")) {
            _ = try Schedulers.make(name: nil, config: config)
        }
        try Data(#"{"beta_end": 2}"#.utf8).write(to: url)
        #expect(throws: SchedulerError.invalidConfig(key: "beta_end", message: "\(url.path): beta_end is 2.0; it must lie strictly between 0 and 1")) {
            _ = try SchedulerConfig(contentsOf: url)
        }
        try Data(#"{"beta_end": 0.01,}"#.utf8).write(to: url)
        #expect(throws: SchedulerError.invalidConfig(key: "", message: "\(url.path) is not valid JSON: expected a string key at byte 18")) {
            _ = try SchedulerConfig(contentsOf: url)
        }
    }
}

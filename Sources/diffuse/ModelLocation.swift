import DiffuseNN
import DiffusePipelines
import Foundation

/// Where `generate` and `serve` find their model: the path given with `--model`, or the bundled
/// text-to-emoji model (`models/emoji` of the repository, trained by `make train-default`).
enum ModelLocation {
    /// The bundled model's folder: `$DIFFUSE_DEFAULT_MODEL`, else `models/emoji` in the current
    /// directory or in a folder above the `diffuse` executable (`.build/release/diffuse` sits three
    /// levels below the repository).
    static func defaultModel() throws -> URL {
        let fm = FileManager.default
        if let path = ProcessInfo.processInfo.environment["DIFFUSE_DEFAULT_MODEL"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var candidates = [URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("models/emoji")]
        var folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0 ..< 5 {
            candidates.append(folder.appendingPathComponent("models/emoji"))
            folder = folder.deletingLastPathComponent()
        }
        for candidate in candidates where fm.fileExists(atPath: candidate.appendingPathComponent("model_index.json").path) {
            return candidate
        }
        throw CLIError("no --model given and the bundled model models/emoji was not found (looked in \(candidates.map(\.path).joined(separator: ", "))); set DIFFUSE_DEFAULT_MODEL or pass --model")
    }

    /// Loads `path` (a diffusers folder or a single-file SD 1.x / 2.x checkpoint, which needs
    /// `tokenizer` and may be told its `predictionType`), or the bundled model when `path` is nil.
    static func load(_ path: String?, tokenizer: String?, weights: WeightPrecision = .float32,
                     predictionType: String? = nil) throws -> StableDiffusion {
        let url = try path.map { URL(fileURLWithPath: $0) } ?? defaultModel()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CLIError("model \(url.path) does not exist")
        }
        if isDirectory.boolValue {
            if predictionType != nil {
                throw CLIError("--prediction-type is for single-file checkpoints; \(url.lastPathComponent)/scheduler/scheduler_config.json gives the folder's")
            }
            return try StableDiffusion.load(folder: url, weights: weights)
        }
        guard url.pathExtension == "safetensors" else {
            throw CLIError("model \(url.path) is neither a diffusers folder nor a .safetensors file")
        }
        guard let tokenizer else { throw CLIError("a single-file checkpoint needs --tokenizer (a folder with vocab.json and merges.txt)") }
        return try StableDiffusion.load(singleFile: url, tokenizer: URL(fileURLWithPath: tokenizer), weights: weights,
                                        predictionType: predictionType)
    }
}

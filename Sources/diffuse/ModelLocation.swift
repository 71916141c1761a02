import DiffuseNN
import DiffusePipelines
import Foundation

/// Where `generate`, `serve`, `eval` and `bench` find their model: the path given with `--model`,
/// or the bundled models (`models/emoji`, `models/emoji-classifier`) in Diffuse's data folder.
enum ModelLocation {
    /// The folders that may hold Diffuse's `models/`, in the order they are tried: the current
    /// directory (a checkout), the installed layout beside the executable (`PREFIX/bin/diffuse` →
    /// `PREFIX/share/diffuse`), a checkout above it (`.build/release/diffuse`), then the XDG data
    /// folders (`$XDG_DATA_HOME`, else `~/.local/share`; `$XDG_DATA_DIRS`, else `/usr/local/share`
    /// and `/usr/share`) — so a moved binary still finds what `make install` put in a standard prefix.
    static func dataFolders() -> [URL] {
        let environment = ProcessInfo.processInfo.environment
        var folders = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        folders.append(executable.deletingLastPathComponent().appendingPathComponent("share/diffuse"))
        var folder = executable
        for _ in 0 ..< 4 {
            folder = folder.deletingLastPathComponent()
            folders.append(folder)
        }
        let home = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"].map { $0 + "/.local/share" } ?? "/root/.local/share")
        let shared = environment["XDG_DATA_DIRS"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/share:/usr/share"
        for base in [home] + shared.split(separator: ":").map(String.init) {
            folders.append(URL(fileURLWithPath: base).appendingPathComponent("diffuse"))
        }
        var seen = Set<String>()
        return folders.map(\.standardizedFileURL).filter { seen.insert($0.path).inserted }
    }

    /// The first `models/NAME` among the data folders that holds `marker`, or a one-line error
    /// listing where it looked.
    static func bundled(_ name: String, marker: String) throws -> URL {
        let candidates = dataFolders().map { $0.appendingPathComponent("models").appendingPathComponent(name) }
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate.appendingPathComponent(marker).path) {
            return candidate.standardizedFileURL
        }
        throw CLIError("the bundled model models/\(name) was not found (looked in \(candidates.map(\.path).joined(separator: ", "))); run `make install` or pass its path")
    }

    /// The bundled text-to-emoji model's folder (`models/emoji`).
    static func defaultModel() throws -> URL { try bundled("emoji", marker: "model_index.json") }

    /// The bundled evaluation classifier's folder (`models/emoji-classifier`).
    static func defaultClassifier() throws -> URL { try bundled("emoji-classifier", marker: "config.json") }

    /// Loads `path` (a diffusers folder or a single-file SD 1.x / 2.x checkpoint, which needs
    /// `tokenizer` and may be told its `predictionType`), or the bundled model when `path` is nil.
    static func load(_ path: String?, tokenizer: String?, weights: WeightPrecision = .float32,
                     predictionType: String? = nil) throws -> DiffusionPipeline {
        let url = try path.map { URL(fileURLWithPath: $0) } ?? defaultModel()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CLIError("--model \(url.path) does not exist")
        }
        if isDirectory.boolValue {
            if predictionType != nil {
                throw CLIError("--prediction-type is for single-file checkpoints; \(url.lastPathComponent)/scheduler/scheduler_config.json gives the folder's")
            }
            return try DiffusionPipeline.load(folder: url, weights: weights)
        }
        guard url.pathExtension == "safetensors" else {
            throw CLIError("--model \(url.path) is neither a diffusers folder nor a .safetensors file")
        }
        guard let tokenizer else { throw CLIError("a single-file checkpoint needs --tokenizer (a folder with vocab.json and merges.txt)") }
        return try DiffusionPipeline.load(singleFile: url, tokenizer: URL(fileURLWithPath: tokenizer), weights: weights,
                                          predictionType: predictionType)
    }
}

import ArgumentParser
import DiffuseModels
import DiffusePipelines
import Foundation

/// `--lora FILE[:SCALE]`: a LoRA file (or, with `--lora-dir`, the name of one there) and its
/// multiplier, 1 when not given. `FILE:abc` keeps `abc` as a scale that is not a number, for
/// `problem` to report, unless `FILE:abc` is itself an existing file.
struct LoRAArgument: ExpressibleByArgument {
    var file: String
    /// The scale as written; nil when none was given.
    var scaleText: String?

    init?(argument: String) {
        guard !argument.isEmpty else { return nil }
        if let colon = argument.lastIndex(of: ":"), !FileManager.default.fileExists(atPath: argument) {
            file = String(argument[..<colon])
            scaleText = String(argument[argument.index(after: colon)...])
        } else {
            file = argument
        }
    }

    /// The multiplier (1 without `:SCALE`); nil when the scale is not a finite number.
    var scale: Float? {
        guard let scaleText else { return 1 }
        return Float(scaleText.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
    }

    /// Why the argument cannot be used, or nil.
    var problem: String? {
        if file.isEmpty { return "\(file):\(scaleText ?? "") has no file name" }
        if scale == nil { return "scale \"\(scaleText ?? "")\" in \(file):\(scaleText ?? "") is not a number" }
        return nil
    }

    /// The file: `file` when it exists, else `NAME.safetensors` in `directory` for a bare name.
    /// - Throws: `CLIError` naming `--lora`.
    func resolve(in directory: String?) throws -> URL {
        if FileManager.default.fileExists(atPath: file) || file.contains("/") || directory == nil {
            guard FileManager.default.fileExists(atPath: file) else {
                throw CLIError("--lora: \(file) does not exist" + (directory == nil ? " (a bare name is looked up in --lora-dir)" : ""))
            }
            return URL(fileURLWithPath: file)
        }
        do {
            return try LoRADirectory(URL(fileURLWithPath: directory!)).file(named: file)
        } catch let error as PipelineError {
            throw CLIError("--lora: \(error.description)")
        }
    }

    /// AUTOMATIC1111's prompt tag for it, `<lora:NAME:SCALE>`, as infotext records it.
    func tag(name: String) -> String { "<lora:\(name):\(scaleText ?? "1")>" }
}

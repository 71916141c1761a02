import DiffuseModels
import Foundation

/// A folder of LoRA files (`--lora-dir`), where A1111's prompt tags `<lora:NAME:WEIGHT>` and the
/// server's `loras` field find `NAME.safetensors`.
public struct LoRADirectory: Sendable {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    /// The file of the LoRA called `name` (`NAME.safetensors` in the folder or a subfolder, as
    /// A1111 searches its Lora folder).
    /// - Throws: `PipelineError` when the name holds a path separator or `..`, or no such file
    ///   exists (naming the folder); when only a pickle of that name exists, saying to convert it.
    public func file(named name: String) throws -> URL {
        guard !name.isEmpty, !name.contains("/"), !name.contains("\\"), name != ".", name != ".." else {
            throw PipelineError("LoRA name \"\(name)\" is not a file name (no folders: it is looked up in \(url.path))")
        }
        let entries = files(withExtensions: Set(["safetensors"]).union(LoRA.pickleExtensions))
        if let found = entries.first(where: { $0.deletingPathExtension().lastPathComponent == name && $0.pathExtension.lowercased() == "safetensors" }) {
            return found
        }
        if let pickle = entries.first(where: { $0.deletingPathExtension().lastPathComponent == name }) {
            throw PipelineError("LoRA \"\(name)\": \(pickle.path) is a pickle file, which Diffuse does not read; convert it to .safetensors")
        }
        throw PipelineError("no LoRA named \"\(name)\" in \(url.path) (looked for \(name).safetensors)")
    }

    /// Every `.safetensors` file in the folder and its subfolders, sorted by path.
    public var loraFiles: [URL] { files(withExtensions: ["safetensors"]) }

    private func files(withExtensions extensions: Set<String>) -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var result: [URL] = []
        for case let file as URL in enumerator where extensions.contains(file.pathExtension.lowercased()) {
            result.append(file)
        }
        return result.sorted { $0.path < $1.path }
    }
}

import DiffuseFormats
import Foundation

/// A textual-inversion embedding: N learned vectors that stand for a word in prompts.
///
/// Files are safetensors (a pickle `.pt`/`.bin` is refused with a message saying to convert it),
/// in the layouts AUTOMATIC1111 reads (`textual_inversion.py`, `create_embedding_from_data`):
/// - kohya / A1111 safetensors: `emb_params` `[N, C]`;
/// - A1111 `.pt` converted to safetensors: one `string_to_param.*` tensor `[N, C]`;
/// - diffusers (`learned_embeds.safetensors`, sd-concepts-library): one tensor named by its token,
///   `<cat-toy>` → `[C]` or `[N, C]`.
///
/// The word is the file's name without its extension, as in A1111; a diffusers file's key is a
/// second name for it (what `load_textual_inversion` would use).
public struct TextualInversion: Sendable {
    /// The words that stand for the vectors in prompts: the file's base name, then (diffusers
    /// files) the tensor's key.
    public var names: [String]
    /// `[count, width]` row-major.
    public var vectors: [Float]
    public var count: Int
    public var width: Int
    /// Where the vectors came from, for messages: "FILE: key KEY".
    public var source: String
    /// The tensor's key in the file.
    public var key: String

    public init(names: [String], vectors: [Float], count: Int, width: Int, source: String, key: String) {
        precondition(vectors.count == count * width && count > 0, "TextualInversion: \(vectors.count) values for \(count)×\(width)")
        self.names = names
        self.vectors = vectors
        self.count = count
        self.width = width
        self.source = source
        self.key = key
    }

    /// The embedding in the safetensors file at `url`.
    /// - Throws: `TextualInversionError` naming the file (and key) that cannot be used.
    public static func load(_ url: URL) throws -> TextualInversion {
        let path = url.path
        let ext = url.pathExtension.lowercased()
        if ["pt", "bin", "ckpt", "pth"].contains(ext) {
            throw TextualInversionError("\(path): a pickle file (.\(ext)) is not loaded (unpickling can run code); convert it to .safetensors first: an A1111 .pt with save_file({'emb_params': torch.load(FILE)['string_to_param']['*']}, 'NAME.safetensors'), a diffusers .bin with save_file(torch.load(FILE), 'NAME.safetensors') (safetensors.torch.save_file)")
        }
        guard ext == "safetensors" else {
            throw TextualInversionError("\(path): not a .safetensors file")
        }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(url: url) } catch { throw TextualInversionError("\(error)") }
        let base = url.deletingPathExtension().lastPathComponent
        let keys = file.tensorNames
        var words: [String] = [base]
        let key: String
        if keys.contains("emb_params") {
            key = "emb_params"
        } else if keys.contains("clip_l") || keys.contains("clip_g") {
            throw TextualInversionError("\(path): an SDXL embedding (clip_l/clip_g); Diffuse's CLIP text encoders are SD 1.x/2.x")
        } else if let parameter = keys.first(where: { $0.hasPrefix("string_to_param.") }) {
            guard keys.filter({ $0.hasPrefix("string_to_param.") }).count == 1 else {
                throw TextualInversionError("\(path): several string_to_param tensors; an embedding file holds one")
            }
            key = parameter
        } else if keys.count == 1 {
            key = keys[0]
            if key != base { words.append(key) }
        } else {
            throw TextualInversionError("\(path): \(keys.count) tensors (\(keys.prefix(4).joined(separator: ", "))…) and no emb_params or string_to_param.*; an embedding file holds one")
        }
        let info: SafeTensorInfo
        let values: [Float]
        do {
            info = try file.info(key)
            values = try file.floats(key)
        } catch { throw TextualInversionError("\(path): key \(key): \(error)") }
        let shape = info.shape
        guard (shape.count == 1 || shape.count == 2), shape.allSatisfy({ $0 > 0 }) else {
            throw TextualInversionError("\(path): key \(key) has shape \(shape); an embedding is [width] or [vectors, width]")
        }
        let count = shape.count == 1 ? 1 : shape[0]
        guard values.allSatisfy(\.isFinite) else { throw TextualInversionError("\(path): key \(key) holds NaN or infinite values") }
        return TextualInversion(names: words, vectors: values, count: count, width: shape[shape.count - 1],
                                source: path, key: key)
    }

    /// The `.safetensors` files directly in `directory` (sorted by name), loaded; pickle files
    /// there are refused like `load`'s.
    public static func loadDirectory(_ directory: URL) throws -> [TextualInversion] {
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw TextualInversionError("\(directory.path): not a readable folder")
        }
        let wanted = entries.sorted().filter { ["safetensors", "pt", "bin"].contains(($0 as NSString).pathExtension.lowercased()) }
        return try wanted.map { try load(directory.appendingPathComponent($0)) }
    }
}

/// Why an embedding file cannot be used: one line naming the file and key.
public struct TextualInversionError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

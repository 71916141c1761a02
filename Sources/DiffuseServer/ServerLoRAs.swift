import DiffuseFormats
import DiffuseModels
import DiffusePipelines
import Foundation

/// The LoRAs a request names, found in the server's LoRA folder (`ServerConfiguration.loraDirectory`).
enum ServerLoRAs {
    /// Reads a `loras` field: an array whose items are `"NAME"`, `"NAME:MULTIPLIER"` or
    /// `{"name": NAME, "weight": MULTIPLIER}` (`weight` optional, default 1; `scale` accepted for
    /// it), each NAME a `NAME.safetensors` in the LoRA folder. Each file is read against the
    /// model's layers (header and keys only; the factors are read when merged).
    /// - Throws: `APIError.invalid` naming the field (or `field[i]`): not an array, a bad item, a
    ///   multiplier that is not a finite number, no LoRA folder, no such file, a file that does not
    ///   fit the model.
    static func parse(_ fields: RequestFields, field: String, server: DiffuseServer) throws -> [LoRAApplication] {
        guard let value = fields.value(field) else { return [] }
        guard case .array(let items) = value else {
            throw APIError.invalid(field, "\(field) must be an array of LoRA names (\"NAME\", \"NAME:WEIGHT\" or {\"name\", \"weight\"}), not \(value.typeDescription)")
        }
        let named = try items.enumerated().map { index, item -> (name: String, weight: Double) in
            let name: String, weight: Double
            let itemField = "\(field)[\(index)]"
            switch item {
            case .string(let text):
                if let colon = text.lastIndex(of: ":") {
                    name = String(text[..<colon])
                    let number = String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                    guard let parsed = Double(number), parsed.isFinite else {
                        throw APIError.invalid(field, "\(itemField): weight \"\(number)\" is not a number")
                    }
                    weight = parsed
                } else {
                    (name, weight) = (text, 1)
                }
            case .object(let members):
                let object = RequestFields(object: members)
                do {
                    guard let given = try object.string("name") else { throw APIError.invalid(field, "\(itemField) has no name") }
                    name = given
                    weight = try object.double("weight") ?? object.double("scale") ?? 1
                } catch let error as APIError where error.field != field {
                    throw APIError.invalid(field, "\(itemField).\(error.message)")
                }
            default:
                throw APIError.invalid(field, "\(itemField) must be a string or an object, not \(item.typeDescription)")
            }
            return (name, weight)
        }
        return try resolve(named, field: field, server: server)
    }

    /// The LoRAs called `named` (with their multipliers) in the server's LoRA folder, read for its
    /// model — for the `loras` field (errors name `field`).
    /// - Throws: `APIError.invalid(field, …)` naming `field[i]`: no LoRA folder, no such file, a
    ///   multiplier that is not finite, a file that does not fit the model.
    static func resolve(_ named: [(name: String, weight: Double)], field: String, server: DiffuseServer) throws -> [LoRAApplication] {
        guard !named.isEmpty else { return [] }
        guard let folder = server.configuration.loraDirectory else {
            throw APIError.invalid(field, "\(field): this server takes no LoRAs (it was started without --lora-dir)")
        }
        return try named.enumerated().map { index, entry in
            let itemField = "\(field)[\(index)]"
            guard entry.weight.isFinite else { throw APIError.invalid(field, "\(itemField): weight \(entry.weight) is not a finite number") }
            do {
                let url = try LoRADirectory(folder).file(named: entry.name)
                return LoRAApplication(try server.model.loadLoRA(url), multiplier: Float(entry.weight))
            } catch let error as PipelineError {
                throw APIError.invalid(field, "\(itemField): \(error.description)")
            } catch let error as LoRAError {
                throw APIError.invalid(field, "\(itemField): LoRA \"\(entry.name)\" does not fit this model: \(error.message)" + (error.key.map { " (\($0))" } ?? ""))
            }
        }
    }

    /// The LoRAs of A1111's `<lora:NAME:MULTIPLIER>` prompt tags, read for the server's model from
    /// its LoRA folder (`DiffusionPipeline.loraApplications(forPromptTags:in:)`).
    /// - Throws: `APIError.invalid("prompt", …)` naming the tag and what is wrong with it.
    static func resolve(promptTags tags: [PromptAdapterTag], server: DiffuseServer) throws -> [LoRAApplication] {
        do {
            return try server.model.loraApplications(forPromptTags: tags, in: server.configuration.loraDirectory.map(LoRADirectory.init))
        } catch let error as PipelineError {
            throw APIError.invalid("prompt", "prompt: \(error.description)")
        }
    }

    /// A1111's `GET /sdapi/v1/loras` reply: every `.safetensors` file of the LoRA folder as
    /// `{name, alias, path, metadata}` (`alias` is kohya's `ss_output_name` when the header has one).
    static func list(_ folder: URL?) -> JSONValue {
        guard let folder else { return [] }
        return .array(LoRADirectory(folder).loraFiles.map { url in
            let metadata = (try? SafeTensorsFile(url: url))?.metadata ?? [:]
            let name = url.deletingPathExtension().lastPathComponent
            return [
                "name": .string(name), "alias": .string(metadata["ss_output_name"] ?? name), "path": .string(url.path),
                "metadata": .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }),
            ]
        })
    }
}

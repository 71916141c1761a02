import DiffuseFormats
import DiffuseNN

/// A kind of model: which `model_index.json` pipeline classes it loads and how it builds a
/// `DiffusionPipeline`'s components (prompt encoder, UNet, decoder, scheduler) from such a folder.
/// A new family is a new conforming type listed in `ModelFamilies.all`.
public protocol ModelFamily: Sendable {
    /// The `_class_name`s of `model_index.json` this family loads.
    var pipelineClasses: Set<String> { get }
    /// Builds the pipeline from `folder`, keeping its weights as `precision`.
    func load(_ folder: DiffusersFolder, weights precision: WeightPrecision) throws -> DiffusionPipeline
}

/// The model families Diffuse loads, found by a folder's pipeline class.
public enum ModelFamilies {
    /// Every family, in lookup order.
    public static let all: [any ModelFamily] = [StableDiffusionFamily(), StableDiffusionXLFamily()]

    /// The family that loads `folder`'s `_class_name`.
    /// - Throws: `PipelineError` naming the class and the ones Diffuse loads.
    public static func family(for folder: DiffusersFolder) throws -> any ModelFamily {
        if let family = all.first(where: { $0.pipelineClasses.contains(folder.pipelineClass) }) { return family }
        let known = all.flatMap(\.pipelineClasses).sorted().joined(separator: ", ")
        throw PipelineError("\(folder.root.appendingPathComponent("model_index.json").path): _class_name \(folder.pipelineClass) is not supported (Diffuse loads \(known))")
    }
}

import DiffuseFormats
import DiffuseNN
import DiffuseTensor

/// transformers' `CLIPTextModelWithProjection` (SDXL's second text encoder, OpenCLIP ViT-bigG in
/// diffusers' layout): CLIP's text tower plus `text_projection`, a bias-free linear map of the
/// end token's final layer-normed state to `projectionDim` (the pooled `text_embeds`). Checkpoint
/// keys: `text_model.…` and `text_projection.weight` `[projectionDim, hidden]`.
public final class CLIPTextModelWithProjection: Module {
    public let config: CLIPTextConfig
    public let textModel: CLIPTextTransformer
    public let textProjection: Linear
    /// `projection_dim` of the config (transformers' default 512).
    public let projectionDim: Int
    /// `eos_token_id` of the config (transformers' default 2): which token's state is pooled.
    public let endTokenID: Int

    public init(config: CLIPTextConfig, projectionDim: Int, endTokenID: Int = 2) {
        self.config = config
        self.projectionDim = projectionDim
        self.endTokenID = endTokenID
        textModel = CLIPTextTransformer(config)
        textProjection = Linear(config.hiddenSize, projectionDim, bias: false)
    }

    /// Reads the text tower's options (`CLIPTextConfig`), `projection_dim` and `eos_token_id` from `c`.
    public convenience init(_ c: ModelConfig) throws {
        self.init(config: try CLIPTextConfig(c),
                  projectionDim: try c.int("projection_dim", default: 512, in: 1 ... ModelConfig.maxWidth),
                  endTokenID: try c.int("eos_token_id", default: 2))
    }

    /// The position pooled in each row of `ids`, as transformers picks it: with the legacy
    /// `eos_token_id` 2 the first position of the row's largest id (CLIP's end token is the last
    /// id of its vocabulary), otherwise the first position holding `endTokenID` (0 when absent).
    public func pooledPositions(_ ids: [[Int]]) -> [Int] {
        ids.map { row in
            if endTokenID == 2 {
                guard let largest = row.max() else { return 0 }
                return row.firstIndex(of: largest)!
            }
            return row.firstIndex(of: endTokenID) ?? 0
        }
    }

    /// `ids` (rows of one length ≤ maxPositions) → the hidden states (`CLIPTextModel.hiddenStates`)
    /// and `textEmbeds` `[B, projectionDim]`: `text_projection` of each row's pooled position in
    /// the final layer-normed states.
    public func callAsFunction(_ ids: [[Int]]) -> (hiddenStates: [Tensor], textEmbeds: Tensor) {
        let (all, last) = textModel.hiddenStates(ids, config: config, extraTokenRows: nil)
        let rows = pooledPositions(ids).enumerated().map { batch, position in
            last.narrowed(axis: 0, start: batch, length: 1).narrowed(axis: 1, start: position, length: 1)
                .reshaped([1, config.hiddenSize])
        }
        return (all, textProjection(Tensor.concatenate(rows, axis: 0).contiguous()))
    }

    /// Buffers some checkpoints carry that are not parameters.
    public static let ignoredKeys = CLIPTextModel.ignoredKeys

    /// transformers ≥ 5.6 saves the text tower without the `text_model.` prefix; this sees such a
    /// checkpoint under the prefixed names, `text_projection.weight` as it is (other sources unchanged).
    public static func normalizedWeights(_ source: WeightSource) -> WeightSource {
        let names = source.tensorNames
        if names.contains(where: { $0.hasPrefix("text_model.") }) { return source }
        return RenamedWeights(source, names: Dictionary(uniqueKeysWithValues: names.map {
            ($0.hasPrefix("text_projection.") ? $0 : "text_model." + $0, $0)
        }))
    }
}

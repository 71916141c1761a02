import DiffuseAutograd
import DiffuseNN
import DiffuseTensor

/// diffusers' `UNet2DConditionModel` (Stable Diffusion 1.x / 2.x): predicts the noise (or v) in
/// `sample` at `timestep`, steered by `encoderHiddenStates` through cross-attention.
public final class UNet2DConditionModel: Module {
    public let config: UNet2DConditionConfig
    public let convIn: Conv2d
    public let timeEmbedding: TimestepEmbedding
    /// Projects `classLabels` `[B, classEmbeddingInputDim]` into the time embedding (diffusers'
    /// `class_embed_type` "projection"); nil when the config has no class embedding.
    public let classEmbedding: TimestepEmbedding?
    /// Projects `[pooled text embedding, time ids' sinusoidal embeddings]`
    /// `[B, additionEmbeddingInputDim]` into the time embedding (diffusers' `add_embedding` for
    /// `addition_embed_type` "text_time", SDXL); nil when the config has none.
    public let addEmbedding: TimestepEmbedding?
    public let downBlocks: [UNetDownBlock]
    public let midBlock: UNetMidBlock
    public let upBlocks: [UNetUpBlock]
    public let convNormOut: GroupNorm
    public let convOut: Conv2d
    /// How inference (`Tensor` inputs) computes its 3×3 convolutions. `.automatic` by default:
    /// Winograd where a call has enough output positions to repay transforming its weights again
    /// (a Stable Diffusion 1.5 UNet's 320- and 640-channel levels, and at 512² its 1280-channel
    /// 16² one), direct elsewhere. `.direct` for the bit-closest result to diffusers; training chooses
    /// its own (`TrainingConfiguration.convolutionAlgorithm`).
    public var convolutionAlgorithm: OneDNNConvolution.Algorithm = .automatic

    public init(config: UNet2DConditionConfig) {
        self.config = config
        let ch = config.blockOutChannels
        let groups = config.normNumGroups, eps = config.normEps
        let tembDim = ch[0] * 4
        convIn = Conv2d(config.inChannels, ch[0], kernel: 3, padding: 1)
        timeEmbedding = TimestepEmbedding(inChannels: ch[0], dim: tembDim, conditionDim: config.timeConditionDim)
        classEmbedding = config.classEmbeddingInputDim.map { TimestepEmbedding(inChannels: $0, dim: tembDim) }
        addEmbedding = config.additionEmbeddingInputDim.map { TimestepEmbedding(inChannels: $0, dim: tembDim) }

        func transformer(_ channels: Int, block: Int, heads: Int) -> Transformer2DModel {
            Transformer2DModel(channels: channels, heads: heads, headDim: channels / heads, contextDim: config.crossAttentionDim[block],
                               layers: config.transformerLayersPerBlock[block], groups: groups,
                               useLinearProjection: config.useLinearProjection)
        }

        var down: [UNetDownBlock] = []
        var outputChannel = ch[0]
        for (i, type) in config.downBlockTypes.enumerated() {
            let inputChannel = outputChannel
            outputChannel = ch[i]
            let isFinal = i == ch.count - 1
            let resnets = (0 ..< config.layersPerBlock[i]).map { j in
                ResnetBlock2D(inChannels: j == 0 ? inputChannel : outputChannel, outChannels: outputChannel, temb: tembDim,
                              groups: groups, epsilon: eps)
            }
            let attentions = type == "CrossAttnDownBlock2D"
                ? resnets.map { _ in transformer(outputChannel, block: i, heads: config.attentionHeads[i]) } : []
            down.append(UNetDownBlock(resnets: resnets, attentions: attentions,
                                      downsampler: isFinal ? nil : Downsample2D(channels: outputChannel, padding: config.downsamplePadding)))
        }
        downBlocks = down

        let last = ch.count - 1
        midBlock = UNetMidBlock(
            resnets: (0 ..< 2).map { _ in
                ResnetBlock2D(inChannels: ch[last], outChannels: ch[last], temb: tembDim, groups: groups, epsilon: eps,
                              outputScaleFactor: config.midBlockScaleFactor)
            },
            attentions: [transformer(ch[last], block: last, heads: config.attentionHeads[last])])

        var up: [UNetUpBlock] = []
        let reversedChannels = Array(ch.reversed())
        let reversedHeads = Array(config.attentionHeads.reversed())
        let reversedLayers = Array(config.layersPerBlock.reversed())
        outputChannel = reversedChannels[0]
        for (i, type) in config.upBlockTypes.enumerated() {
            let previousOutput = outputChannel
            outputChannel = reversedChannels[i]
            let inputChannel = reversedChannels[Swift.min(i + 1, ch.count - 1)]
            let isFinal = i == ch.count - 1
            let layers = reversedLayers[i] + 1
            let resnets = (0 ..< layers).map { j in
                let skipChannels = j == layers - 1 ? inputChannel : outputChannel
                let resnetIn = j == 0 ? previousOutput : outputChannel
                return ResnetBlock2D(inChannels: resnetIn + skipChannels, outChannels: outputChannel, temb: tembDim, groups: groups, epsilon: eps)
            }
            let block = last - i  // cross_attention_dim / transformer layers are reversed too
            let attentions = type == "CrossAttnUpBlock2D"
                ? resnets.map { _ in transformer(outputChannel, block: block, heads: reversedHeads[i]) } : []
            up.append(UNetUpBlock(resnets: resnets, attentions: attentions,
                                  upsampler: isFinal ? nil : Upsample2D(channels: outputChannel)))
        }
        upBlocks = up
        convNormOut = GroupNorm(groups: groups, channels: ch[0], epsilon: eps)
        convOut = Conv2d(ch[0], config.outChannels, kernel: 3, padding: 1)
    }

    /// Runs each resnet and attention of the down, mid and up blocks as a gradient `checkpoint`
    /// when the model runs on `Variable`s: their activations are recomputed during the backward
    /// pass instead of kept (less memory, about one more forward pass of compute). No effect on `Tensor` runs.
    public var gradientCheckpointing = false

    /// Inference entry point (the generic forward specialized for `Tensor`).
    /// - Parameters:
    ///   - sample: noisy latents `[B, inChannels, h, w]`.
    ///   - timesteps: one timestep per batch entry (or one for all), in the scheduler's units (0…999).
    ///   - encoderHiddenStates: text embeddings `[B, 77, crossAttentionDim]`.
    ///   - classLabels: `[B, classEmbeddingInputDim]` vectors added to the time embedding through
    ///     `classEmbedding`; required exactly when the config has a class embedding.
    ///   - timestepCondition: `[B, timeConditionDim]` (diffusers' `timestep_cond`, e.g. a guidance-scale
    ///     embedding) added to the time embedding's input through its `cond_proj`; ignored when the
    ///     config has no `time_cond_proj_dim`, as in diffusers.
    ///   - addedConditions: for "text_time" UNets (SDXL; required exactly when the config has
    ///     `addEmbedding`), diffusers' `added_cond_kwargs`: the pooled text embeddings `[B, P]` and
    ///     the time ids `[B, k]` (original size, crop, target size or aesthetic score), each id
    ///     embedded sinusoidally to `additionTimeEmbedDim`; P + k · that is the add embedding's input width.
    /// - Returns: the model output `[B, outChannels, h, w]`.
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], encoderHiddenStates: Tensor, classLabels: Tensor? = nil,
                               timestepCondition: Tensor? = nil, addedConditions: (textEmbeds: Tensor, timeIDs: Tensor)? = nil) -> Tensor {
        OneDNNConvolution.$algorithm.withValue(convolutionAlgorithm) {
            forward(sample, timesteps: timesteps, encoderHiddenStates: encoderHiddenStates, classLabels: classLabels,
                    timestepCondition: timestepCondition, addedConditions: addedConditions)
        }
    }

    /// The same model on `Variable`s (training: gradients reach the parameters' leaves, see
    /// `Module.beginTraining()`) or any other `TensorValue`. The timestep embedding is a constant.
    public func callAsFunction<T: TensorValue>(_ sample: T, timesteps: [Float], encoderHiddenStates: T, classLabels: T? = nil,
                                               timestepCondition: T? = nil, addedConditions: (textEmbeds: T, timeIDs: Tensor)? = nil) -> T {
        forward(sample, timesteps: timesteps, encoderHiddenStates: encoderHiddenStates, classLabels: classLabels,
                timestepCondition: timestepCondition, addedConditions: addedConditions)
    }

    /// The forward pass, written once for both value types.
    private func forward<T: TensorValue>(_ sample: T, timesteps: [Float], encoderHiddenStates: T, classLabels: T?,
                                         timestepCondition: T?, addedConditions: (textEmbeds: T, timeIDs: Tensor)?) -> T {
        let batch = sample.shape[0]
        let ts = timesteps.count == 1 ? Array(repeating: timesteps[0], count: batch) : timesteps
        precondition(ts.count == batch, "UNet: \(timesteps.count) timesteps for a batch of \(batch)")
        let tProj = Tensor.timestepEmbedding(ts, dim: config.blockOutChannels[0], flipSinToCos: config.flipSinToCos,
                                             downscaleFreqShift: Float(config.freqShift))
        if let timestepCondition, let width = config.timeConditionDim {
            precondition(timestepCondition.shape == [batch, width],
                         "UNet: timestep condition is \(timestepCondition.shape), expected [\(batch), \(width)]")
        }
        var temb = timeEmbedding(T.constant(tProj), condition: timestepCondition)
        switch (classEmbedding, classLabels) {
        case (let embedding?, let labels?):
            precondition(labels.shape == [batch, config.classEmbeddingInputDim!],
                         "UNet: class labels are \(labels.shape), expected [\(batch), \(config.classEmbeddingInputDim!)]")
            temb = temb + embedding(labels)
        case (nil, nil): break
        case (_?, nil): preconditionFailure("UNet: this model has a class embedding and needs class labels")
        case (nil, _?): preconditionFailure("UNet: class labels given to a model without a class embedding")
        }
        switch (addEmbedding, addedConditions) {
        case (let embedding?, let added?):
            temb = temb + embedding(textTimeEmbedding(added.textEmbeds, timeIDs: added.timeIDs, batch: batch))
        case (nil, nil): break
        case (_?, nil): preconditionFailure("UNet: this model has an add_embedding (text_time) and needs text embeds and time ids")
        case (nil, _?): preconditionFailure("UNet: text embeds and time ids given to a model without an add_embedding")
        }
        let checkpointing = gradientCheckpointing
        // Checked between blocks (`Cancellation`): a cancelled call returns zeros, which its caller discards.
        func cancelled() -> T { T.constant(Tensor.zeros([batch, config.outChannels, sample.shape[2], sample.shape[3]])) }
        var h = config.centerInputSample ? sample * 2 - 1 : sample
        h = convIn(h)
        var skips: [T] = [h]
        for block in downBlocks {
            if Cancellation.isRequested { return cancelled() }
            let (out, added) = block(h, temb: temb, context: encoderHiddenStates, checkpointing: checkpointing)
            h = out
            skips += added
        }
        if Cancellation.isRequested { return cancelled() }
        h = midBlock(h, temb: temb, context: encoderHiddenStates, checkpointing: checkpointing)
        for (i, block) in upBlocks.enumerated() {
            if Cancellation.isRequested { return cancelled() }
            let n = block.resnets.count
            let blockSkips = Array(skips.suffix(n))
            skips.removeLast(n)
            // When the next skip is not exactly twice this size (odd sizes), upsample to its size.
            let size = skips.last.map { ($0.shape[2], $0.shape[3]) }
            h = block(h, skips: blockSkips, temb: temb, context: encoderHiddenStates,
                      upsampleSize: i == upBlocks.count - 1 ? nil : size, checkpointing: checkpointing)
        }
        h = convNormOut(h, silu: true)
        return convOut(h)
    }

    /// `add_embedding`'s input for "text_time" (diffusers' `get_aug_embed`): each row's pooled
    /// text embedding `[B, P]` followed by the sinusoidal embeddings (`add_time_proj`, width
    /// `additionTimeEmbedDim`, the time embedding's flip and shift) of its k time ids, one after the other.
    private func textTimeEmbedding<T: TensorValue>(_ textEmbeds: T, timeIDs: Tensor, batch: Int) -> T {
        let width = config.additionTimeEmbedDim!, input = config.additionEmbeddingInputDim!
        precondition(timeIDs.rank == 2 && timeIDs.shape[0] == batch, "UNet: time ids are \(timeIDs.shape) for a batch of \(batch)")
        precondition(textEmbeds.shape == [batch, input - timeIDs.shape[1] * width],
                     "UNet: text embeds are \(textEmbeds.shape) and \(timeIDs.shape[1]) time ids of width \(width), for an add_embedding input of \(input)")
        let timeEmbeds = Tensor.timestepEmbedding(timeIDs.contiguous().scalars, dim: width, flipSinToCos: config.flipSinToCos,
                                                  downscaleFreqShift: Float(config.freqShift))
            .reshaped([batch, timeIDs.shape[1] * width])
        return T.concatenate([textEmbeds, T.constant(timeEmbeds)], axis: 1)
    }
}

import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Testing

/// The OpenCLIP → CLIPTextModel key map of SD 2.x single files.
@Suite struct OpenCLIPCheckpointKeysTests {
    @Test func fusedProjectionsSplitExtraBlocksIgnoredUnknownNamed() {
        let p = OpenCLIPCheckpointKeys.prefix
        let names = [p + "token_embedding.weight", p + "positional_embedding", p + "ln_final.weight", p + "ln_final.bias",
                     p + "transformer.resblocks.0.attn.in_proj_weight", p + "transformer.resblocks.0.attn.in_proj_bias",
                     p + "transformer.resblocks.0.mlp.c_fc.weight", p + "transformer.resblocks.0.ln_2.bias",
                     p + "transformer.resblocks.1.attn.in_proj_weight", p + "text_projection", p + "logit_scale",
                     p + "transformer.resblocks.0.attn.mystery", "model.diffusion_model.out.0.weight"]
        let m = OpenCLIPCheckpointKeys.mapping(names, layers: 1, width: 8)
        #expect(m.names["text_model.embeddings.position_embedding.weight"] == p + "positional_embedding")
        #expect(m.names["text_model.final_layer_norm.bias"] == p + "ln_final.bias")
        #expect(m.names["text_model.encoder.layers.0.mlp.fc1.weight"] == p + "transformer.resblocks.0.mlp.c_fc.weight")
        #expect(m.names["text_model.encoder.layers.0.layer_norm2.bias"] == p + "transformer.resblocks.0.ln_2.bias")
        for (i, x) in ["q", "k", "v"].enumerated() {
            #expect(m.names["text_model.encoder.layers.0.self_attn.\(x)_proj.weight"] == p + "transformer.resblocks.0.attn.in_proj_weight")
            #expect(m.rows["text_model.encoder.layers.0.self_attn.\(x)_proj.bias"] == i * 8 ..< (i + 1) * 8)
        }
        #expect(m.ignored == [p + "logit_scale", p + "text_projection", p + "transformer.resblocks.1.attn.in_proj_weight"])
        #expect(m.unknown == [p + "transformer.resblocks.0.attn.mystery"])
        #expect(m.names.count == 4 + 6 + 2)
    }

    /// Row blocks of a renamed tensor come out as their own contiguous tensors.
    @Test func renamedWeightsSliceRows() throws {
        let fused = Tensor(shape: [6, 2], (0 ..< 12).map(Float.init))
        let source = RenamedWeights(TensorDictionary(["fused": fused]), names: ["k": "fused", "all": "fused"], rows: ["k": 2 ..< 4])
        #expect(source.shape(of: "k") == [2, 2] && source.shape(of: "all") == [6, 2])
        #expect(try source.tensor(named: "k").scalars == [4, 5, 6, 7])
        let short = RenamedWeights(TensorDictionary(["fused": fused]), names: ["v": "fused"], rows: ["v": 4 ..< 8])
        #expect(short.shape(of: "v") == [2, 2])
        #expect(short.origin(of: "v") == "rows 4..<8 of fused [6, 2]")
        #expect(source.origin(of: "all") == "fused")
        #expect(throws: WeightLoadingError.self) { try short.tensor(named: "v") }
    }

    /// A fused tensor too small for a row block is reported as mis-shaped, naming where the rows come from.
    @Test func tooSmallRowBlockIsMisshapedNotMissing() throws {
        let fused = Tensor(shape: [6, 2], (0 ..< 12).map(Float.init))
        let source = RenamedWeights(TensorDictionary(name: "tiny.safetensors", ["in_proj": fused]),
                                    names: ["weight": "in_proj", "bias": "bias"], rows: ["weight": 4 ..< 8])
        let layer = Linear(2, 4, bias: false)
        let error = try #require(throws: WeightLoadingError.self) { try layer.load(from: source, strict: false) }
        #expect(error.missing.isEmpty)
        #expect(error.mismatched == ["weight is [2, 2] in tiny.safetensors (rows 4..<8 of in_proj [6, 2]), expected [4, 2]"])
    }
}

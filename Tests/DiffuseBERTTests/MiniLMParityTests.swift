import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// all-MiniLM-L6-v2 in Swift (`BertModel`, `SentenceEncoder`) against sentence-transformers' outputs
/// recorded in Tests/Fixtures/minilm (tools/make_minilm_fixtures.py): token ids, last hidden states
/// and pooled, normalized embeddings within 1e-4 (max abs and relative L2). The real weights come
/// from `.deps/all-MiniLM-L6-v2` (`make deps`); without them every test here fails saying so.
/// Serialized: the timing test should not share the cores with the others.
@Suite(.serialized) struct MiniLMParityTests {
    @Test func configurationAndWeights() throws {
        let directory = try MiniLM.modelDirectory()
        let config = try BertConfig(ModelConfig(contentsOf: directory.appendingPathComponent("config.json")))
        #expect(config.vocabSize == 30522 && config.hiddenSize == 384 && config.layers == 6 && config.heads == 12)
        #expect(config.intermediateSize == 1536 && config.activation == .gelu && config.layerNormEps == 1e-12)
        #expect(config.maxPositions == 512 && config.typeVocabSize == 2)
        let model = BertModel(config: config)
        let keys = model.namedParameters().map(\.key)
        #expect(keys.count == 5 + 6 * 16)
        #expect(keys.contains("embeddings.LayerNorm.weight"))
        #expect(keys.contains("encoder.layer.5.attention.self.query.weight"))
        #expect(keys.contains("encoder.layer.0.attention.output.LayerNorm.bias"))
        #expect(keys.contains("encoder.layer.3.intermediate.dense.weight"))
        #expect(keys.contains("encoder.layer.3.output.dense.bias"))
        // Strict loading: every tensor of the checkpoint is used or deliberately ignored.
        let weights = try SafeTensorsWeights(directory.appendingPathComponent("model.safetensors"))
        try model.load(from: BertModel.normalizedWeights(weights), ignoring: BertModel.ignoredKeys)
        #expect(model.parameterCount == 22_565_376)  // sentence-transformers' count without the pooler
        let encoder = try SentenceEncoder(tokenizer: WordPieceTokenizer(vocabulary: directory.appendingPathComponent("vocab.txt")), model: model)
        #expect(encoder.maxLength == 256 && encoder.padTokenID == 0 && encoder.dimension == 384)
    }

    @Test func tokenIDsMatch() throws {
        let fixture = try MiniLM.Fixture()
        let encoder = try MiniLM.encoder()
        #expect(encoder.maxLength == fixture.reference.max_seq_length)
        let ref = fixture.reference
        #expect(ref.texts.count >= 12)
        for (text, ids) in zip(ref.texts, ref.ids) {
            #expect(encoder.tokenizer.encode(text) == ids, "ids of \(text.prefix(40))")
        }
        #expect(ref.ids.contains { $0.count > 64 && $0.count < 256 } && ref.ids.contains { $0.count == 256 })
        // Batch encoding pads with [PAD] (0) to the longest text.
        let batch = encoder.encode(ids: ref.ids)
        let n = ref.ids.map(\.count).max() ?? 0
        for (row, ids) in ref.ids.enumerated() {
            #expect(batch.ids[row] == ids + Array(repeating: 0, count: n - ids.count))
            #expect(batch.attentionMask[row] == Array(repeating: 1, count: ids.count) + Array(repeating: 0, count: n - ids.count))
        }
        #expect(batch.lengths == ref.ids.map(\.count))
        let none = encoder.encode([String]())
        #expect(none.tokens.shape == [0, 0, 384] && none.pooled.shape == [0, 384] && none.mask.shape == [0, 0] && none.ids.isEmpty)
    }

    /// Each text alone (no padding): the whole hidden state of a few, some rows of the others.
    @Test func hiddenStatesMatch() throws {
        let fixture = try MiniLM.Fixture()
        let encoder = try MiniLM.encoder()
        var worst = Difference([], [])
        for (i, ids) in fixture.reference.ids.enumerated() {
            let hidden = encoder.model(ids: [ids])
            #expect(hidden.shape == [1, ids.count, 384])
            let label = "text \(i) (\(ids.count) tokens)"
            if fixture.reference.full_hidden.contains(i) {
                if let d = expectClose(hidden.squeezed(0), try fixture.tensor("hidden.\(i)"), "\(label) whole hidden state") {
                    worst.maxAbs = max(worst.maxAbs, d.maxAbs); worst.relativeL2 = max(worst.relativeL2, d.relativeL2)
                }
            }
            if let d = expectClose(rows(hidden, item: 0, fixture.reference.rows[i]), try fixture.tensor("rows.\(i)"),
                                   "\(label) rows \(fixture.reference.rows[i])") {
                worst.maxAbs = max(worst.maxAbs, d.maxAbs); worst.relativeL2 = max(worst.relativeL2, d.relativeL2)
            }
        }
        print("[minilm] hidden states, worst over \(fixture.reference.ids.count) texts: \(worst)")
        #expect(fixture.reference.full_hidden.count >= 3)
    }

    /// `encode(texts)` on the whole (padded) batch, and text by text, against `SentenceTransformer.encode`.
    @Test func pooledEmbeddingsMatch() throws {
        let fixture = try MiniLM.Fixture()
        let encoder = try MiniLM.encoder()
        let expected = try fixture.tensor("pooled")
        let batch = encoder.encode(fixture.reference.texts)
        #expect(batch.tokens.shape == [expected.shape[0], fixture.reference.ids.map(\.count).max() ?? 0, 384])
        expectClose(batch.pooled, expected, "pooled, batch of \(fixture.reference.texts.count) padded to \(batch.tokens.shape[1])")
        let alone = Tensor.concatenate(fixture.reference.texts.map { encoder.encode([$0]).pooled }, axis: 0)
        expectClose(alone, expected, "pooled, one text at a time")
        for row in 0 ..< expected.shape[0] {
            #expect(abs(dot(batch.pooled, row, row) - 1) < 1e-5, "pooled row \(row) is not unit length")
        }
    }

    /// Padding must not change anything: the batch's token states equal each text's own.
    @Test func paddedBatchEqualsOneByOne() throws {
        let fixture = try MiniLM.Fixture()
        let encoder = try MiniLM.encoder()
        let texts = fixture.reference.texts
        let batch = encoder.encode(texts)
        #expect(Set(batch.lengths).count > 3)  // really padded
        for (i, text) in texts.enumerated() {
            let alone = encoder.encode([text])
            let n = alone.tokens.shape[1]
            #expect(batch.lengths[i] == n)
            let padded = batch.tokens.selecting(axis: 0, index: i).narrowed(axis: 0, start: 0, length: n)
            expectClose(padded, alone.tokens.squeezed(0), "batch vs alone, text \(i) (\(n) of \(batch.tokens.shape[1]) tokens)", tolerance: 1e-5)
            expectClose(batch.pooled.narrowed(axis: 0, start: i, length: 1), alone.pooled, "pooled batch vs alone, text \(i)", tolerance: 1e-5)
            let mask = batch.mask.selecting(axis: 0, index: i).scalars
            #expect(mask == Array(repeating: 1, count: n) + Array(repeating: 0, count: batch.tokens.shape[1] - n))
        }
    }

    /// `encode(texts, length: 16)`: ids, mask, hidden states (padding rows included) and pooled
    /// embeddings of the cut/padded texts against transformers' `padding="max_length", truncation=True`.
    @Test func fixedLengthMatches() throws {
        let fixture = try MiniLM.Fixture()
        let encoder = try MiniLM.encoder()
        let fixed = fixture.reference.fixed
        let out = encoder.encode(fixture.reference.texts, length: fixed.length)
        #expect(out.ids == fixed.ids)
        #expect(out.attentionMask == fixed.attention_mask)
        #expect(out.tokens.shape == [fixture.reference.texts.count, fixed.length, 384])
        #expect(out.mask.shape == [fixture.reference.texts.count, fixed.length])
        #expect(out.mask.scalars == fixed.attention_mask.flatMap { $0.map(Float.init) })
        #expect(fixed.attention_mask.contains { $0.contains(0) } && fixed.attention_mask.contains { !$0.contains(0) })
        expectClose(out.pooled, try fixture.tensor("fixed16.pooled"), "pooled, fixed length \(fixed.length)")
        let expected = try fixture.tensor("fixed16.hidden")
        for (k, i) in fixed.full_hidden.enumerated() {
            expectClose(out.tokens.selecting(axis: 0, index: i), expected.selecting(axis: 0, index: k),
                        "fixed length \(fixed.length), text \(i) (\(out.lengths[i]) tokens + padding)")
        }
        let additive = out.additiveMask
        #expect(additive.shape == [fixture.reference.texts.count, 1, 1, fixed.length])
        #expect(additive.scalars == fixed.attention_mask.flatMap { $0.map { $0 == 1 ? Float(0) : -.infinity } })
    }

    @Test func cosineSimilarities() throws {
        let fixture = try MiniLM.Fixture()
        let encoder = try MiniLM.encoder()
        let texts = fixture.reference.texts
        let pooled = encoder.encode(texts).pooled
        func cosine(_ a: String, _ b: String) throws -> Double { dot(pooled, try fixture.index(of: a), try fixture.index(of: b)) }
        let kittyCat = try cosine("a kitty", "cat face"), kittyApple = try cosine("a kitty", "red apple")
        print(String(format: "[minilm] cos(a kitty, cat face) = %.4f, cos(a kitty, red apple) = %.4f", kittyCat, kittyApple))
        #expect(kittyCat > kittyApple + 0.2)
        #expect(try cosine("a kitty", "a cute little kitten") > cosine("a kitty", "flag: Japan"))
        #expect(try cosine("red apple", "a green apple") > cosine("red apple", "cat face"))
        for s in fixture.reference.similarities {
            #expect(abs(try cosine(s.a, s.b) - s.cosine) < 1e-4, "cos(\(s.a), \(s.b))")
        }
    }

    /// A checkpoint of a task model keeps the encoder under `bert.` beside its head: it loads the same.
    @Test func bertPrefixedCheckpoint() throws {
        let directory = try MiniLM.modelDirectory()
        let weights = try SafeTensorsWeights(directory.appendingPathComponent("model.safetensors"))
        var names = Dictionary(uniqueKeysWithValues: weights.tensorNames.map { ("bert." + $0, $0) })
        names["cls.predictions.bias"] = "embeddings.LayerNorm.bias"  // a head tensor, not the encoder's
        let prefixed = RenamedWeights(weights, names: names)
        let config = try BertConfig(ModelConfig(contentsOf: directory.appendingPathComponent("config.json")))
        let model = BertModel(config: config)
        #expect(throws: WeightLoadingError.self) { try model.load(from: prefixed, ignoring: BertModel.ignoredKeys) }
        try model.load(from: BertModel.normalizedWeights(prefixed), ignoring: BertModel.ignoredKeys)
        let reference = try BertModel.load(directory: directory)
        let ids = [[101, 2417, 6207, 102]]  // [CLS] red apple [SEP]
        #expect(model(ids: ids).scalars == reference(ids: ids).scalars)
        #expect(BertModel.normalizedWeights(weights).tensorNames == weights.tensorNames)
    }

    @Test func unusableFoldersAreReported() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-minilm-missing-\(UUID().uuidString)")
        #expect(throws: (any Error).self) { try SentenceEncoder(directory: missing) }
        #expect("\(MiniLM.MissingModel(path: missing.path, fromEnvironment: false))".contains("run `make deps`"))
        // A folder asking for CLS pooling is refused before the weights are read.
        let pooling = missing.appendingPathComponent("1_Pooling")
        try FileManager.default.createDirectory(at: pooling, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: missing) }
        try Data(#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#.utf8)
            .write(to: pooling.appendingPathComponent("config.json"))
        #expect(throws: ModelConfigError.self) { try SentenceEncoder(directory: missing) }
        let config = ModelConfig(values: ["hidden_act": "swish", "hidden_size": 384, "num_attention_heads": 12], source: "config.json")
        #expect(throws: ModelConfigError.self) { try BertConfig(config) }
        let relative = ModelConfig(values: ["position_embedding_type": "relative_key"], source: "config.json")
        #expect(throws: ModelConfigError.self) { try BertConfig(relative) }
        let heads = ModelConfig(values: ["hidden_size": 384, "num_attention_heads": 7], source: "config.json")
        #expect(throws: ModelConfigError.self) { try BertConfig(heads) }
    }
}

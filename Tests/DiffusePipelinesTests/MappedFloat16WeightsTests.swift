import DiffuseFormats
import DiffuseNN
import DiffuseTensor
import Foundation
import Testing

/// Float16 tensors of a memory-mapped checkpoint, loaded with `WeightPrecision.float16`, are read
/// in place (`WeightSource.float16Values`): the parameters read back the file's values exactly,
/// through renamed and row-sliced views too, and other dtypes still load as float16 copies.
@Suite struct MappedFloat16WeightsTests {
    /// Values that float16 holds exactly, so every path must give them back bit for bit.
    static func values(_ count: Int, offset: Float) -> [Float] {
        (0 ..< count).map { Float(Float16(offset + Float($0) * 0.125 - 3)) }
    }

    static func write(_ entries: [SafeTensorsWriter.Entry]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mapped-f16-\(UUID().uuidString).safetensors")
        try SafeTensorsWriter.write(entries, to: url)
        return url
    }

    @Test func float16TensorsAreReadInPlaceWithTheFilesValues() throws {
        let weight = Self.values(12, offset: 0), bias = Self.values(4, offset: 1)
        let url = try Self.write([.init(name: "weight", shape: [4, 3], floats: weight, format: .float16),
                                  .init(name: "bias", shape: [4], floats: bias, format: .float32)])
        defer { try? FileManager.default.removeItem(at: url) }
        let source = try SafeTensorsWeights(url)
        #expect(source.float16Values(of: "weight") != nil)
        #expect(source.float16Values(of: "bias") == nil, "an F32 tensor has no float16 values in place")
        let layer = Linear(3, 4)
        try layer.load(from: source, precision: .float16)
        #expect(layer.weight.isFloat16 && layer.bias!.isFloat16)
        #expect(layer.weight.value.scalars == weight)
        #expect(layer.bias!.value.scalars == bias)
        // Reading twice gives the same values (the mapping stays; nothing was released).
        #expect(layer.weight.value.scalars == weight)
        let y = layer(Tensor(shape: [1, 3], [1, 2, 3]))
        for o in 0 ..< 4 {
            let expected = bias[o] + weight[o * 3] + 2 * weight[o * 3 + 1] + 3 * weight[o * 3 + 2]
            #expect(Swift.abs(y.scalars[o] - expected) <= 1e-5)
        }
    }

    /// A fused projection seen as three row blocks (as OpenCLIP's in_proj_weight is seen as
    /// q/k/v): each block reads its own rows of the mapped tensor.
    @Test func rowBlocksOfAMappedTensorReadTheirRows() throws {
        let fused = Self.values(6 * 2, offset: 0.5)
        let url = try Self.write([.init(name: "in_proj", shape: [6, 2], floats: fused, format: .float16)])
        defer { try? FileManager.default.removeItem(at: url) }
        let renamed = RenamedWeights(try SafeTensorsWeights(url), names: ["q": "in_proj", "k": "in_proj", "v": "in_proj"],
                                     rows: ["q": 0 ..< 2, "k": 2 ..< 4, "v": 4 ..< 6])
        for (i, name) in ["q", "k", "v"].enumerated() {
            let parameter = Parameter(shape: [2, 2])
            let mapped = try #require(renamed.float16Values(of: name))
            parameter.storeFloat16(mapped.bits, owner: mapped.owner, preferred: false)
            #expect(parameter.value.scalars == Array(fused[(i * 4) ..< (i * 4 + 4)]), "rows of \(name)")
        }
    }

    /// Without a float16 tensor in the file, `.float16` loading still keeps float16 copies.
    @Test func otherDtypesStillLoadAsFloat16Copies() throws {
        let weight: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
        let url = try Self.write([.init(name: "weight", shape: [2, 3], floats: weight, format: .bfloat16),
                                  .init(name: "bias", shape: [2], floats: [1, 2], format: .float32)])
        defer { try? FileManager.default.removeItem(at: url) }
        let layer = Linear(3, 2)
        try layer.load(from: SafeTensorsWeights(url), precision: .float16)
        #expect(layer.weight.isFloat16)
        let bf16 = weight.map { Float(bitPattern: ($0.bitPattern + 0x7FFF + (($0.bitPattern >> 16) & 1)) & 0xFFFF_0000) }
        #expect(layer.weight.value.scalars == bf16.map { Float(Float16($0)) })
    }

    /// `.asStored` keeps a float16 tensor as float16 (in place, not preferred: a LoRA merged into
    /// it stays float32) and a float32 tensor as float32; `.float16` marks both as preferred.
    @Test func asStoredKeepsEachTensorInItsOwnPrecision() throws {
        let weight = Self.values(6, offset: 0.25), bias: [Float] = [0.1, 0.7]
        let url = try Self.write([.init(name: "weight", shape: [2, 3], floats: weight, format: .float16),
                                  .init(name: "bias", shape: [2], floats: bias, format: .float32)])
        defer { try? FileManager.default.removeItem(at: url) }
        let stored = Linear(3, 2)
        try stored.load(from: SafeTensorsWeights(url), precision: .asStored)
        #expect(stored.weight.isFloat16 && !stored.weight.prefersFloat16)
        #expect(!stored.bias!.isFloat16 && !stored.bias!.prefersFloat16)
        #expect(stored.weight.value.scalars == weight && stored.bias!.value.scalars == bias)
        let half = Linear(3, 2)
        try half.load(from: SafeTensorsWeights(url), precision: .float16)
        #expect(half.weight.prefersFloat16 && half.bias!.prefersFloat16 && half.bias!.isFloat16)
        #expect(half.bias!.value.scalars == bias.map { Float(Float16($0)) })
    }
}

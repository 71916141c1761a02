import DiffusePipelines
import DiffuseSchedulers
import DiffuseTensor
import Foundation
import Testing

@Suite struct TiledDecodingTests {
    /// A decoder that looks at each latent pixel alone (nearest ×4 of the sum of the channels):
    /// every tile then decodes its pixels exactly as the whole does, so the feathered blend must
    /// give the one-piece result back wherever tiles overlap, at every size and tiling.
    @Test(arguments: [(40, 24, 16, 4), (64, 64, 32, 8), (33, 17, 8, 0), (20, 20, 32, 8), (64, 48, 24, 23)])
    func localDecoderComesBackExactly(_ size: (Int, Int, Int, Int)) throws {
        let (h, w, tile, overlap) = size
        var random: any RandomSource = TorchRandomSource(seed: UInt64(h * 100 + w))
        let latents = random.randn([2, 4, h, w])
        func decode(_ z: Tensor) -> Tensor { z.sum(axis: 1, keepDims: true).upsampleNearest(factor: 4) }
        let whole = decode(latents)
        let tiled = try TiledDecoding(tile: tile, overlap: overlap).decode(latents, factor: 4, decode)
        #expect(tiled.shape == whole.shape)
        let a = whole.contiguous(), b = tiled.contiguous()
        // Up to float rounding of the weighted average (values up to ~8 here).
        var worst: Float = 0
        for i in 0 ..< a.count { worst = Swift.max(worst, Swift.abs(a.pointer[i] - b.pointer[i]) / (1 + Swift.abs(a.pointer[i]))) }
        #expect(worst < 4e-6, "max relative difference \(worst) for \(h)×\(w), tile \(tile), overlap \(overlap)")
    }

    /// The fixture's VAE (group norms, mid-block attention) sees one tile at a time, so the result
    /// differs from the one-piece decode, but by far less than a different image does.
    @Test func realDecoderStaysCloseToTheWhole() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let sd = try StableDiffusion.load(folder: root.appendingPathComponent("Fixtures/sd/sd1"))
        var random: any RandomSource = TorchRandomSource(seed: 5)
        let latents = random.randn([1, 4, 48, 40]), other = random.randn([1, 4, 48, 40])
        let whole = sd.decode(latents), different = sd.decode(other)
        // 2 × 2 tiles of 32 latent pixels overlapping by 8, a quarter tile, as the CLI's --vae-tile does.
        sd.vaeTiling = try TiledDecoding(tile: 32, overlap: 8)
        defer { sd.vaeTiling = nil }
        let tiled = sd.decode(latents)
        func meanAbs(_ x: Tensor, _ y: Tensor) -> Float {
            let a = x.contiguous(), b = y.contiguous()
            var total: Float = 0
            for i in 0 ..< a.count { total += Swift.abs(a.pointer[i] - b.pointer[i]) }
            return total / Float(a.count)
        }
        let tilingError = meanAbs(tiled, whole), imageDistance = meanAbs(different, whole)
        print("[tiled VAE] mean abs difference to the one-piece decode \(tilingError); between two images \(imageDistance)")
        #expect(tiled.shape == whole.shape)
        #expect(tilingError < 0.1 * imageDistance)
    }

    @Test func badTilesAreRefused() {
        #expect(throws: PipelineError.self) { try TiledDecoding(tile: 4, overlap: 0) }
        #expect(throws: PipelineError.self) { try TiledDecoding(tile: 16, overlap: 16) }
        #expect(throws: PipelineError.self) { try TiledDecoding(tile: 16, overlap: -1) }
    }
}

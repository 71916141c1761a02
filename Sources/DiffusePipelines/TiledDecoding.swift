import DiffuseModels
import DiffuseTensor

/// Decoding latents tile by tile, for images whose one-piece VAE decode would not fit in memory.
///
/// The latents are cut into overlapping square tiles of `tile` latent pixels (`tile × 8` image
/// pixels for SD's VAE), each tile is decoded on its own, and the decoded tiles are blended with
/// weights that ramp linearly across the overlaps (feathering), so no tile edge shows. As with
/// diffusers' `enable_vae_tiling`, the result is close to, not equal to, the one-piece decode: the
/// decoder's group norms and mid-block attention see one tile at a time.
public struct TiledDecoding: Sendable {
    /// Tile side in latent pixels (≥ 8).
    public var tile: Int
    /// Overlap between neighbouring tiles in latent pixels (0 ≤ overlap < tile).
    public var overlap: Int

    /// `overlap` defaults to a quarter of the tile (16 for the default 64).
    public init(tile: Int = 64, overlap: Int? = nil) throws {
        let overlap = overlap ?? tile / 4
        guard tile >= 8 else { throw PipelineError("VAE tile of \(tile) latent pixels is too small (at least 8)") }
        guard (0 ..< tile).contains(overlap) else { throw PipelineError("VAE tile overlap \(overlap) must be in 0..<\(tile)") }
        self.tile = tile
        self.overlap = overlap
    }

    /// Tile start offsets covering `0 ..< length`: every `tile − overlap`, the last one flush with the end.
    func starts(_ length: Int) -> [Int] {
        guard length > tile else { return [0] }
        var result: [Int] = []
        var start = 0
        while start + tile < length {
            result.append(start)
            start += tile - overlap
        }
        result.append(length - tile)
        return result
    }

    /// Blend weight of image row/column `p` of a tile of `size` pixels: a linear ramp over `ramp`
    /// pixels at each edge that borders another tile (`rampStart`, `rampEnd`), 1 elsewhere.
    static func weight(_ p: Int, size: Int, ramp: Int, rampStart: Bool, rampEnd: Bool) -> Float {
        guard ramp > 0 else { return 1 }
        var w: Float = 1
        if rampStart { w = Swift.min(w, (Float(p) + 0.5) / Float(ramp)) }
        if rampEnd { w = Swift.min(w, (Float(size - p) - 0.5) / Float(ramp)) }
        return w
    }

    /// `decode` (latents `[N, C, h, w]` → images `[N, 3, h·f, w·f]`) applied tile by tile.
    public func decode(_ latents: Tensor, factor f: Int, _ decode: (Tensor) -> Tensor) -> Tensor {
        let (n, h, w) = (latents.shape[0], latents.shape[2], latents.shape[3])
        let ys = starts(h), xs = starts(w)
        if ys.count == 1 && xs.count == 1 { return decode(latents) }
        var sum: Tensor? = nil
        var weights = [Float](repeating: 0, count: h * f * w * f)
        let ramp = overlap * f
        for y0 in ys {
            for x0 in xs {
                let th = Swift.min(tile, h), tw = Swift.min(tile, w)
                let part = decode(latents.narrowed(axis: 2, start: y0, length: th).narrowed(axis: 3, start: x0, length: tw)).contiguous()
                let channels = part.shape[1]
                if sum == nil { sum = Tensor(shape: [n, channels, h * f, w * f], repeating: 0) }
                let out = sum!.pointer, src = part.pointer
                let (ph, pw, height, width) = (th * f, tw * f, h * f, w * f)
                var tileWeights = [Float](repeating: 0, count: ph * pw)
                for py in 0 ..< ph {
                    let wy = TiledDecoding.weight(py, size: ph, ramp: ramp, rampStart: y0 > 0, rampEnd: y0 + th < h)
                    for px in 0 ..< pw {
                        let wx = TiledDecoding.weight(px, size: pw, ramp: ramp, rampStart: x0 > 0, rampEnd: x0 + tw < w)
                        tileWeights[py * pw + px] = wy * wx
                        weights[(y0 * f + py) * width + x0 * f + px] += wy * wx
                    }
                }
                for plane in 0 ..< n * channels {
                    let dst = out + plane * height * width, from = src + plane * ph * pw
                    for py in 0 ..< ph {
                        let row = dst + (y0 * f + py) * width + x0 * f, line = from + py * pw
                        for px in 0 ..< pw { row[px] += tileWeights[py * pw + px] * line[px] }
                    }
                }
            }
        }
        let result = sum!
        let planes = result.shape[0] * result.shape[1], pixels = weights.count
        let p = result.pointer
        for plane in 0 ..< planes {
            for i in 0 ..< pixels { p[plane * pixels + i] /= weights[i] }
        }
        return result
    }
}

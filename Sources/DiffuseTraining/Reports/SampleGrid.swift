import DiffuseFormats

/// Lays out images in a grid on white with a 2-pixel gutter: one row per prompt, one column per seed.
public enum SampleGrid {
    /// - Parameter minimumTile: small images are enlarged by an integer factor (nearest
    ///   neighbour, so pixels stay crisp) until a tile is at least this wide.
    public static func image(rows: [[PNGImage]], minimumTile: Int = 0) throws -> PNGImage {
        guard let original = rows.first?.first else { throw TrainingError("sample grid: no images") }
        let scale = Swift.max(1, (minimumTile + original.width - 1) / original.width)
        let tiles = try rows.map { try $0.map { try $0.converted(toChannels: 3, background: 255).enlarged(by: scale) } }
        let first = tiles[0][0]
        let (w, h) = (first.width, first.height)
        let gutter = 2
        let columns = tiles.map(\.count).max() ?? 0
        let width = columns * (w + gutter) + gutter, height = tiles.count * (h + gutter) + gutter
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for (r, row) in tiles.enumerated() {
            for (c, tile) in row.enumerated() {
                guard tile.width == w, tile.height == h else {
                    throw TrainingError("sample grid: images of different sizes (\(tile.width)x\(tile.height) and \(w)x\(h))")
                }
                let x0 = gutter + c * (w + gutter), y0 = gutter + r * (h + gutter)
                for y in 0 ..< h {
                    for x in 0 ..< w {
                        let src = (y * w + x) * 3
                        let dst = ((y0 + y) * width + x0 + x) * 3
                        pixels[dst] = tile.pixels[src]
                        pixels[dst + 1] = tile.pixels[src + 1]
                        pixels[dst + 2] = tile.pixels[src + 2]
                    }
                }
            }
        }
        return try PNGImage(width: width, height: height, channels: 3, pixels: pixels)
    }
}

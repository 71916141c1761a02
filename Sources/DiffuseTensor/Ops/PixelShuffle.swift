extension Tensor {
    /// torch's `pixel_unshuffle`: `[B, C, H, W]` → `[B, C·f², H/f, W/f]`; output channel
    /// `c·f² + dy·f + dx` holds the pixels at offset (dy, dx) of each f × f block.
    public func spaceToDepth(_ f: Int) -> Tensor {
        precondition(rank == 4 && f >= 1 && shape[2] % f == 0 && shape[3] % f == 0, "spaceToDepth(\(f)): shape \(shape)")
        if f == 1 { return self }
        let (b, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        return contiguous().reshaped([b, c, h / f, f, w / f, f]).permuted([0, 1, 3, 5, 2, 4]).contiguous()
            .reshaped([b, c * f * f, h / f, w / f])
    }

    /// torch's `pixel_shuffle`, the inverse of `spaceToDepth`: `[B, C·f², h, w]` → `[B, C, h·f, w·f]`.
    public func depthToSpace(_ f: Int) -> Tensor {
        precondition(rank == 4 && f >= 1 && shape[1] % (f * f) == 0, "depthToSpace(\(f)): shape \(shape)")
        if f == 1 { return self }
        let (b, c, h, w) = (shape[0], shape[1] / (f * f), shape[2], shape[3])
        return contiguous().reshaped([b, c, f, f, h, w]).permuted([0, 1, 4, 2, 5, 3]).contiguous().reshaped([b, c, h * f, w * f])
    }
}

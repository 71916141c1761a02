import CDiffuseDNNL
import Foundation

/// What Diffuse's oneDNN primitives (`OneDNNConvolution`, `OneDNNLinear`) and its own Winograd
/// convolutions (`WinogradConvolution`) share: one call runs at a time (each already uses every
/// core), with a scratch buffer for its reorders and oneDNN's own scratchpad, or for the Winograd
/// kernels' padded copies and transformed tiles.
enum OneDNNRuntime {
    private static let executionLock = NSLock()

    /// The scratch buffer calls share (they run one at a time), grown to the largest request up to
    /// `keptScratchFloats`; larger requests get a buffer of their own. Winograd convolutions ask
    /// for 16–86 MB each in a training step of the issue-4 UNet, in some 40 different sizes: as
    /// separate buffers they overflowed the buffer pool and each step took ~3,900 page faults.
    /// `BufferPool.trim()` frees it too (the VAE decoder trims before each up block).
    private nonisolated(unsafe) static var sharedScratch: Tensor?
    /// 512 MB: a 512² Stable Diffusion UNet step's Winograd convolutions at 1280 channels ask for
    /// up to ~490 MB (their transformed weights), which a fresh buffer per call would page-fault
    /// in every time.
    static let keptScratchFloats = 128 << 20

    /// Frees the shared scratch buffer (the next call that needs one allocates it again).
    static func releaseScratch() {
        executionLock.lock()
        sharedScratch = nil
        executionLock.unlock()
    }

    /// Runs `body` with a scratch buffer of `scratchFloats` floats (nil when 0), one call at a time.
    static func run(scratchFloats: Int, _ body: (UnsafeMutablePointer<Float>?) -> Int32) -> Int32 {
        executionLock.lock()
        defer { executionLock.unlock() }
        var scratch: Tensor?
        if scratchFloats > keptScratchFloats {
            scratch = Tensor(uninitializedShape: [scratchFloats])
        } else if scratchFloats > 0 {
            if (sharedScratch?.count ?? 0) < scratchFloats {
                sharedScratch = nil  // free the smaller one first
                sharedScratch = Tensor(uninitializedShape: [scratchFloats])
            }
            scratch = sharedScratch
        }
        // OpenMP's thread count is per calling thread (a server runs generations on several).
        dd_set_num_threads(Int32(Parallel.threadCount))
        let status = body(scratch?.pointer)
        withExtendedLifetime(scratch) {}
        return status
    }

    /// A new tensor of `shape` that `body` fills from a packed weight (a oneDNN reorder back to the
    /// plain layout). The reverse of a reorder oneDNN already ran cannot fail but in a broken
    /// library: that stops the process, naming `what`.
    static func unpack(_ shape: [Int], _ what: String, _ body: (UnsafeMutablePointer<Float>) -> Int32) -> Tensor {
        let plain = Tensor(uninitializedShape: shape)
        let status = run(scratchFloats: 0) { _ in body(plain.pointer) }
        precondition(status == 0, "oneDNN could not unpack \(what) \(shape) (status \(status))")
        return plain
    }
}

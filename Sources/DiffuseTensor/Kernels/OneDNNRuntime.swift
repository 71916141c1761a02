import CDiffuseDNNL
import Foundation

/// What Diffuse's oneDNN primitives (`OneDNNConvolution`, `OneDNNLinear`) share: one call runs at a
/// time (each already uses every core through oneDNN's OpenMP threads), with a scratch buffer
/// for its reorders and oneDNN's own scratchpad.
enum OneDNNRuntime {
    private static let executionLock = NSLock()

    /// Runs `body` with a scratch buffer of `scratchFloats` floats (nil when 0), one call at a time.
    static func run(scratchFloats: Int, _ body: (UnsafeMutablePointer<Float>?) -> Int32) -> Int32 {
        let scratch = scratchFloats > 0 ? Tensor(uninitializedShape: [scratchFloats]) : nil
        executionLock.lock()
        defer { executionLock.unlock() }
        // OpenMP's thread count is per calling thread (a server runs generations on several).
        dd_set_num_threads(Int32(Parallel.threadCount))
        let status = body(scratch?.pointer)
        withExtendedLifetime(scratch) {}
        return status
    }
}

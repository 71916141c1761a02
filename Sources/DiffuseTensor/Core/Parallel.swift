import Dispatch
import Foundation

/// Splits work over the machine's cores. Every kernel goes through here, so `threadCount` is the
/// one knob (environment `DIFFUSE_THREADS`, default: all active processors).
public enum Parallel {
    /// Number of worker threads kernels use.
    public nonisolated(unsafe) static var threadCount: Int = {
        if let text = ProcessInfo.processInfo.environment["DIFFUSE_THREADS"], let n = Int(text), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Calls `body` on disjoint sub-ranges covering `0 ..< count`, in parallel when each thread gets
    /// at least `minPerThread` items. Returns when all are done.
    @inlinable
    public static func forRange(_ count: Int, minPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let threads = Swift.min(threadCount, count / Swift.max(minPerThread, 1))
        if threads <= 1 {
            body(0 ..< count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            body((t * count / threads) ..< ((t + 1) * count / threads))
        }
    }

    /// Calls `body(i)` for every `i` in `0 ..< count`, spreading the indices over the threads.
    @inlinable
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        forRange(count) { range in for i in range { body(i) } }
    }
}

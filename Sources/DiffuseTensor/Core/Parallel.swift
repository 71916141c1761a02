import CDiffuseDNNL
import Dispatch
import Foundation

/// Splits work over the machine's cores. Every kernel goes through here, so `threadCount` is the
/// one knob (`EngineSettings.threads`, default: all active processors).
///
/// The work runs on the OpenMP threads that oneDNN's convolutions and products use (libgomp,
/// through `dd_parallel`), so one set of threads serves every op. Dispatch's threads
/// (`EngineSettings.parallelRuntime`) stay for A/B runs: beside OpenMP's, the two pools take turns
/// on the cores (OpenMP's idle worker spins for a few milliseconds after each oneDNN call).
public enum Parallel {
    /// Number of worker threads kernels use.
    public nonisolated(unsafe) static var threadCount: Int = {
        EngineSettings.current.threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Whether parallel regions run on oneDNN's OpenMP threads (default) or on Dispatch's.
    @usableFromInline
    static let usesOpenMP: Bool = {
        EngineSettings.current.parallelRuntime == .openmp && dd_parallel_available() != 0
    }()

    /// Which threads run the parallel regions, for `diffuse doctor`.
    public static var runtimeDescription: String {
        usesOpenMP ? "OpenMP threads, shared with oneDNN" : "Dispatch's threads"
    }

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
        run(parts: threads) { t in
            body((t * count / threads) ..< ((t + 1) * count / threads))
        }
    }

    /// Calls `body(i)` for every `i` in `0 ..< count`, spreading the indices over the threads.
    @inlinable
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        forRange(count) { range in for i in range { body(i) } }
    }

    /// Runs `part(t)` for every t in `0 ..< parts` at once, one per thread, and returns when all are done.
    @usableFromInline
    static func run(parts: Int, _ part: (Int) -> Void) {
        guard usesOpenMP else {
            DispatchQueue.concurrentPerform(iterations: parts, execute: part)
            return
        }
        withoutActuallyEscaping(part) { part in
            var task = part
            withUnsafeMutablePointer(to: &task) { pointer in
                let status = dd_parallel(Int32(parts), { context, t in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(t))
                }, pointer)
                precondition(status == 0, "the OpenMP runtime went missing after it was found")
            }
        }
    }
}

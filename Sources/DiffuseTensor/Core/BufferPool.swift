import CDiffuseCPU
import Foundation

/// Reuses large float buffers across tensors.
///
/// Every op returns a new tensor, and a UNet step allocates and frees gigabytes of activations;
/// glibc serves buffers over 32 MB (and many smaller ones) with fresh `mmap`s, so each one costs
/// page faults and kernel page clearing (7–9% of a Stable Diffusion UNet step when measured).
/// Freed buffers of `minimumBytes` … `maximumCachedBytes` are kept, by size class, up to `capacityBytes` in
/// all (`EngineSettings.poolBytes`, default 1024 MB; 0 disables pooling), and handed out
/// again for the same size class.
public enum BufferPool {
    /// Buffers below this size go straight to malloc.
    public static let minimumBytes = 256 << 10
    /// Buffers above this size are not kept either: the few huge activations of a large decode
    /// (134–268 MB at 512² in SD's VAE) would otherwise sit in the pool and raise peak memory by
    /// their size, for a page-clearing cost that is small next to the work done on them.
    public static let maximumCachedBytes = 64 << 20

    /// Buffers of this size or more are 2 MB aligned and backed by transparent huge pages
    /// (`madvise(MADV_HUGEPAGE)`): a 134 MB activation then takes 67 page faults instead of
    /// 32,768, and the kernels that stride through it miss the TLB far less.
    /// `EngineSettings.hugePages` false turns it off.
    public static let hugePageBytes: Int = EngineSettings.current.hugePages ? 4 << 20 : Int.max
    static let hugePageAlignment = 2 << 20

    public nonisolated(unsafe) static var capacityBytes: Int = EngineSettings.current.poolBytes

    private nonisolated(unsafe) static var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private nonisolated(unsafe) static var cachedBytes = 0
    private static let lock = NSLock()

    /// Size classes: multiples of 64 KB up to 4 MB, then of 1/16 of the next power of two.
    static func sizeClass(_ bytes: Int) -> Int {
        if bytes <= 4 << 20 { return (bytes + 0xFFFF) & ~0xFFFF }
        let step = (1 << (Int.bitWidth - bytes.leadingZeroBitCount)) / 16
        return (bytes + step - 1) / step * step
    }

    /// A 64-byte aligned buffer of at least `bytes` bytes; `capacity` is what was actually reserved.
    static func allocate(bytes: Int) -> (pointer: UnsafeMutableRawPointer, capacity: Int) {
        let size = bytes < minimumBytes ? Swift.max(bytes, 64) : sizeClass(bytes)
        if size >= minimumBytes {
            lock.lock()
            if var list = free[size], let p = list.popLast() {
                free[size] = list
                cachedBytes -= size
                lock.unlock()
                return (p, size)
            }
            lock.unlock()
        }
        var raw: UnsafeMutableRawPointer?
        let huge = size >= hugePageBytes
        let status = posix_memalign(&raw, huge ? hugePageAlignment : 64, size)
        if huge, status == 0, let raw { _ = diffuse_advise_huge_pages(raw, size) }
        guard status == 0, let raw else {
            // Out of memory: drop the cache and try once more before giving up.
            trim()
            var retry: UnsafeMutableRawPointer?
            guard posix_memalign(&retry, 64, size) == 0, let retry else {
                fatalError("Diffuse: cannot allocate \(size) bytes for a tensor (posix_memalign status \(status))")
            }
            return (retry, size)
        }
        return (raw, size)
    }

    /// Returns a buffer from `allocate`; it is cached when there is room, freed otherwise.
    static func release(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        if capacity >= minimumBytes && capacity <= maximumCachedBytes {
            lock.lock()
            if cachedBytes + capacity <= capacityBytes {
                free[capacity, default: []].append(pointer)
                cachedBytes += capacity
                lock.unlock()
                return
            }
            lock.unlock()
        }
        Foundation.free(pointer)
    }

    /// Frees every cached buffer and gives malloc's free heap memory back to the system (buffers
    /// under glibc's mmap threshold — which rises to 32 MB as large buffers are freed — live on
    /// the heap, where `free` alone keeps their pages resident).
    public static func trim() {
        lock.lock()
        let lists = free
        free = [:]
        cachedBytes = 0
        lock.unlock()
        for list in lists.values { for p in list { Foundation.free(p) } }
        OneDNNRuntime.releaseScratch()
        _ = diffuse_release_free_heap()
    }

    /// Bytes currently held for reuse.
    public static var cached: Int {
        lock.lock(); defer { lock.unlock() }
        return cachedBytes
    }
}

import DiffuseTensor
import Synchronization
import Testing

@Suite struct ParallelTests {
    /// Every index is visited exactly once, at the top level and from inside another parallel
    /// region (where OpenMP gives a team of one thread and all parts run on it in turn).
    @Test func everyIndexOnceAtTopLevelAndNested() {
        let outer = 7, inner = 1_003
        let counts = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: outer * inner)
        for i in 0 ..< outer * inner { (counts + i).initialize(to: Atomic(0)) }
        defer { counts.deallocate() }
        Parallel.forRange(outer) { range in
            for o in range {
                Parallel.forRange(inner) { r in for i in r { counts[o * inner + i].add(1, ordering: .relaxed) } }
            }
        }
        var wrong = 0
        for i in 0 ..< outer * inner where counts[i].load(ordering: .relaxed) != 1 { wrong += 1 }
        #expect(wrong == 0, "\(wrong) of \(outer * inner) indices were not visited exactly once")
    }

    /// With more than one thread the parts really run at once: two parts wait for each other (run
    /// one after the other, the first gives up after its spin limit and `met` is 1). Skipped, and
    /// reported so, on a one-thread engine.
    @Test(.enabled(if: Parallel.threadCount > 1, "needs two or more engine threads"))
    func partsRunConcurrently() {
        let arrived = Atomic<Int>(0)
        let met = Atomic<Int>(0)
        Parallel.forRange(2) { _ in
            arrived.add(1, ordering: .sequentiallyConsistent)
            var spins = 0
            while arrived.load(ordering: .sequentiallyConsistent) < 2 && spins < 200_000_000 { spins += 1 }
            if arrived.load(ordering: .sequentiallyConsistent) == 2 { met.add(1, ordering: .relaxed) }
        }
        #expect(met.load(ordering: .relaxed) == 2)
    }
}

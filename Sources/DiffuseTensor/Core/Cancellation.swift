import Synchronization

/// A request to stop a long computation, shared between the thread that asks and the one that works.
public final class CancellationFlag: Sendable {
    private let cancelled = Atomic<Bool>(false)

    public init() {}

    /// Asks the computation to stop; it notices at its next check.
    public func cancel() { cancelled.store(true, ordering: .releasing) }

    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
}

/// The flag the current computation polls between its large parts (a UNet between its blocks),
/// bound for a call with `Cancellation.$current.withValue(flag) { … }`. A model that finds it
/// cancelled stops early with a meaningless result, which its caller then discards.
public enum Cancellation {
    @TaskLocal public static var current: CancellationFlag? = nil

    /// Whether the bound flag (if any) has been cancelled.
    @inlinable public static var isRequested: Bool { current?.isCancelled ?? false }
}

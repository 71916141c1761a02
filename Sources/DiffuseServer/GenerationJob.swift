import DiffuseTensor
import Foundation

/// Where a running job is: which image, which step, and a cheap preview of the current latents.
public struct JobProgress: Sendable {
    /// Index of the image being made (0-based).
    public var image: Int
    /// Images in the job.
    public var images: Int
    /// Denoising steps done for this image (1…`totalSteps`).
    public var step: Int
    /// Denoising steps this image runs (fewer than the request's steps for img2img).
    public var totalSteps: Int
    /// Seconds since the job started running.
    public var elapsed: Double
    /// PNG preview of the current image (latent resolution); nil when none was made this step.
    public var preview: Data?

    /// The part of the whole job done, 0…1.
    public var fraction: Double {
        guard images > 0, totalSteps > 0 else { return 0 }
        return min(1, (Double(image) + Double(step) / Double(totalSteps)) / Double(images))
    }
}

/// One finished image: the PNG (with its `parameters` infotext chunk), its seed and infotext.
public struct GeneratedImage: Sendable {
    /// The PNG file.
    public var png: Data
    /// The seed that reproduces this image alone.
    public var seed: UInt64
    /// A1111 infotext (also in the PNG's `parameters` chunk).
    public var infotext: String
}

/// What a successful job made.
public struct GenerationResult: Sendable {
    /// In seed order.
    public var images: [GeneratedImage]
    /// True when `/sdapi/v1/interrupt` stopped the job early: the last image is a decode of the
    /// latents reached so far and later images were not made.
    public var interrupted: Bool
    /// Seconds the job ran.
    public var seconds: Double
}

/// What a job tells its listeners, in order: `started`, `progress`…, then exactly one of
/// `finished`, `failed` or `cancelled`.
public enum JobEvent: Sendable {
    case started
    case progress(JobProgress)
    case finished(GenerationResult)
    case failed(APIError)
    case cancelled
}

/// A generation request on its way through the queue. Thread-safe: workers report to it, HTTP
/// handlers wait on it, stream its events and cancel it.
public final class GenerationJob: @unchecked Sendable {
    /// Where the job is in its life.
    public enum Status: String, Sendable {
        case queued, running, succeeded, failed, cancelled

        /// True once the job can change no more.
        public var isFinal: Bool { self != .queued && self != .running }
    }

    /// Why a job was asked to stop.
    public enum StopReason: Sendable {
        /// Drop the job: no result.
        case cancel
        /// A1111 interrupt: stop early but return what exists.
        case interrupt
    }

    /// A snapshot of the job's state.
    public struct Snapshot: Sendable {
        public var status: Status
        public var progress: JobProgress?
        /// The latest preview PNG, kept across steps that made none.
        public var preview: Data?
        public var result: GenerationResult?
        public var error: APIError?
        public var startedAt: Date?
    }

    /// Random id, 32 hex digits.
    public let id: String
    /// What to generate.
    public let parameters: GenerationParameters
    /// The sampler's A1111 display name, for infotext and replies.
    public let samplerName: String
    /// When the job was made (A1111's `job_timestamp`).
    public let createdAt = Date()

    private let lock = NSLock()
    private var phase: Phase = .queued
    private var progress: JobProgress?
    private var preview: Data?
    private var startedAt: Date?
    private var stopReason: StopReason?
    private var waiters: [CheckedContinuation<GenerationResult, any Error>] = []
    private var listeners: [Int: AsyncStream<JobEvent>.Continuation] = [:]
    private var nextListener = 0
    /// Set by the queue on submission: cancels a job still waiting.
    weak var queue: GenerationQueue?
    /// Raised by `cancel()` and `interrupt()`: the running generation polls it inside each UNet
    /// call (`GenerationRequest.cancellation`), so a long step stops within the step.
    public let cancellation = CancellationFlag()

    /// A queued job; `samplerName` is the display name of `parameters.sampler`.
    public init(parameters: GenerationParameters, samplerName: String) {
        self.id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        self.parameters = parameters
        self.samplerName = samplerName
    }

    /// The current state.
    public var snapshot: Snapshot {
        lock.lock()
        defer { lock.unlock() }
        var result: GenerationResult?, error: APIError?
        if case .ended(.succeeded(let value)) = phase { result = value }
        if case .ended(.failed(let value)) = phase { error = value }
        return Snapshot(status: status, progress: progress, preview: preview, result: result, error: error, startedAt: startedAt)
    }

    /// How many event streams (`events()`) are open.
    public var listenerCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return listeners.count
    }

    /// The reason the job was asked to stop, if it was.
    public var requestedStop: StopReason? {
        lock.lock()
        defer { lock.unlock() }
        return stopReason
    }

    // MARK: Control (any thread)

    /// Drops the job: removed from the queue if it is waiting, stopped at the next step if it
    /// runs (within its current UNet call); waiters then get `CancellationError`. No effect once it has finished.
    public func cancel() {
        if queue?.withdraw(self) == true {
            finish(.cancelled)
            return
        }
        lock.lock()
        if !status.isFinal && stopReason == nil {
            stopReason = .cancel
            cancellation.cancel()
        }
        lock.unlock()
    }

    /// Stops a running job within its current UNet call, keeping what it made (A1111 interrupt).
    public func interrupt() {
        lock.lock()
        if status == .running && stopReason == nil {
            stopReason = .interrupt
            cancellation.cancel()
        }
        lock.unlock()
    }

    // MARK: Waiting (async callers)

    /// Waits for the job to end. Cancelling the waiting task cancels the job.
    /// - Returns: the result of a job that succeeded (possibly interrupted).
    /// - Throws: the job's `APIError` if it failed, `CancellationError` if it was cancelled.
    public func result() async throws -> GenerationResult {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<GenerationResult, any Error>) in
                lock.lock()
                guard case .ended(let outcome) = phase else {
                    waiters.append(continuation)
                    lock.unlock()
                    return
                }
                lock.unlock()
                outcome.resume(continuation)
            }
        } onCancel: {
            self.cancel()
        }
    }

    /// A stream of the job's events from now on, starting with a replay of where it is (`started`
    /// and the latest progress if it runs, the final event if it has ended). The stream ends after
    /// the final event; `onTermination` fires when the listener goes away.
    public func events(onTermination: @escaping @Sendable (_ remainingListeners: Int) -> Void = { _ in }) -> AsyncStream<JobEvent> {
        // Progress events may be dropped for a slow reader (newest kept), the final one never is.
        let (stream, continuation) = AsyncStream<JobEvent>.makeStream(bufferingPolicy: .bufferingNewest(32))
        lock.lock()
        switch phase {
        case .queued, .running:
            let key = nextListener
            nextListener += 1
            listeners[key] = continuation
            if case .running = phase {
                continuation.yield(.started)
                if var progress {
                    progress.preview = preview
                    continuation.yield(.progress(progress))
                }
            }
            continuation.onTermination = { [weak self] _ in
                guard let self else { return }
                self.lock.lock()
                let removed = self.listeners.removeValue(forKey: key) != nil
                let remaining = self.listeners.count
                self.lock.unlock()
                if removed { onTermination(remaining) }
            }
            lock.unlock()
        case .ended(let outcome):
            lock.unlock()
            continuation.yield(outcome.event)
            continuation.finish()
        }
        return stream
    }

    // MARK: Reporting (the worker thread)

    /// Marks the job running; false if it was cancelled first (it is then finished as such).
    func markRunning() -> Bool {
        lock.lock()
        guard case .queued = phase else {
            lock.unlock()
            return false
        }
        if stopReason != nil {
            lock.unlock()
            finish(.cancelled)
            return false
        }
        phase = .running
        startedAt = Date()
        let targets = Array(listeners.values)
        lock.unlock()
        for listener in targets { listener.yield(.started) }
        return true
    }

    /// Records progress and tells listeners; returns false when the job should stop.
    func report(_ update: JobProgress) -> Bool {
        lock.lock()
        progress = update
        if let image = update.preview { preview = image }
        let targets = Array(listeners.values)
        let keepGoing = stopReason == nil
        lock.unlock()
        for listener in targets { listener.yield(.progress(update)) }
        return keepGoing
    }

    /// Ends the job; later calls are ignored.
    func finish(_ outcome: Outcome) {
        lock.lock()
        if case .ended = phase {
            lock.unlock()
            return
        }
        phase = .ended(outcome)
        let (targets, continuations) = (Array(listeners.values), waiters)
        listeners.removeAll()
        waiters.removeAll()
        lock.unlock()
        for listener in targets {
            listener.yield(outcome.event)
            listener.finish()
        }
        for continuation in continuations { outcome.resume(continuation) }
    }

    /// How a job ends.
    enum Outcome {
        case succeeded(GenerationResult)
        case failed(APIError)
        case cancelled

        var event: JobEvent {
            switch self {
            case .succeeded(let result): return .finished(result)
            case .failed(let error): return .failed(error)
            case .cancelled: return .cancelled
            }
        }

        func resume(_ continuation: CheckedContinuation<GenerationResult, any Error>) {
            switch self {
            case .succeeded(let result): continuation.resume(returning: result)
            case .failed(let error): continuation.resume(throwing: error)
            case .cancelled: continuation.resume(throwing: CancellationError())
            }
        }
    }

    private enum Phase {
        case queued, running
        case ended(Outcome)
    }

    /// The status of `phase`; call with the lock held.
    private var status: Status {
        switch phase {
        case .queued: return .queued
        case .running: return .running
        case .ended(.succeeded): return .succeeded
        case .ended(.failed): return .failed
        case .ended(.cancelled): return .cancelled
        }
    }
}

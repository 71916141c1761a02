import Foundation

/// A bounded queue of generation jobs served by a fixed number of dedicated worker threads.
///
/// Generation is CPU-bound synchronous work, so it runs on plain `Thread`s, never on the NIO
/// event loops or Swift's cooperative pool; HTTP handlers wait for it through continuations
/// (`GenerationJob.result()`, `GenerationJob.events()`). Once `limit` jobs wait (beyond what idle
/// workers take at once), `submit` refuses more with a 429 `APIError` carrying `Retry-After`.
public final class GenerationQueue: @unchecked Sendable {
    /// Jobs that may wait for a worker.
    public let limit: Int
    /// Worker threads.
    public let workerCount: Int

    private let runner: JobRunner
    private let condition = NSCondition()
    private var pending: [GenerationJob] = []
    private var running: [GenerationJob] = []
    private var started = false
    private var stopped = false
    private var liveThreads = 0
    /// Exponential moving average of seconds per job, for `Retry-After`.
    private var secondsPerJob = 10.0

    /// - Parameters:
    ///   - runner: what workers do with a job.
    ///   - workers: number of generation threads (≥ 1).
    ///   - limit: jobs that may wait (≥ 0).
    public init(runner: JobRunner, workers: Int, limit: Int) {
        self.runner = runner
        self.workerCount = max(1, workers)
        self.limit = max(0, limit)
    }

    /// Starts the worker threads (once).
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started, !stopped else { return }
        started = true
        for index in 0 ..< workerCount {
            let thread = Thread { [self] in workerLoop() }
            thread.name = "diffuse-worker-\(index)"
            thread.stackSize = 16 << 20
            liveThreads += 1
            thread.start()
        }
    }

    /// Queues a job.
    /// - Throws: `APIError.queueFull` (429, with `Retry-After`) when the queue is full, 503 after `shutdown`.
    public func submit(_ job: GenerationJob) throws {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { throw APIError(.serviceUnavailable, "the server is shutting down", code: "shutting_down") }
        let idleWorkers = max(0, workerCount - running.count)
        guard pending.count < limit + idleWorkers else {
            let backlog = Double(pending.count + running.count) / Double(workerCount)
            let retryAfter = Int(min(3600, max(1, (backlog * secondsPerJob).rounded(.up))))
            throw APIError.queueFull(limit: limit, retryAfter: retryAfter)
        }
        job.queue = self
        pending.append(job)
        condition.signal()
    }

    /// Removes a waiting job; false if it is not waiting (running, finished or unknown).
    func withdraw(_ job: GenerationJob) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard let index = pending.firstIndex(where: { $0 === job }) else { return false }
        pending.remove(at: index)
        return true
    }

    /// 1-based place of a waiting job in the queue; nil if it is not waiting.
    public func position(of job: GenerationJob) -> Int? {
        condition.lock()
        defer { condition.unlock() }
        return pending.firstIndex(where: { $0 === job }).map { $0 + 1 }
    }

    /// The jobs running now, the most recently started last.
    public var runningJobs: [GenerationJob] {
        condition.lock()
        defer { condition.unlock() }
        return running
    }

    /// How many jobs wait.
    public var pendingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return pending.count
    }

    /// Interrupts every running job (A1111 `/sdapi/v1/interrupt`); returns how many there were.
    @discardableResult
    public func interruptRunning() -> Int {
        let jobs = runningJobs
        for job in jobs { job.interrupt() }
        return jobs.count
    }

    /// Refuses new jobs, cancels waiting and running ones, and lets the worker threads end.
    public func shutdown() {
        condition.lock()
        stopped = true
        let waiting = pending
        let active = running
        pending.removeAll()
        condition.broadcast()
        condition.unlock()
        for job in waiting { job.finish(.cancelled) }
        for job in active { job.cancel() }
    }

    /// Threads still running (they end after `shutdown` once their job stops).
    public var workerThreadsAlive: Int {
        condition.lock()
        defer { condition.unlock() }
        return liveThreads
    }

    private func workerLoop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if stopped {
                liveThreads -= 1
                condition.unlock()
                return
            }
            let job = pending.removeFirst()
            running.append(job)
            condition.unlock()

            let start = Date()
            runner.run(job)
            let seconds = Date().timeIntervalSince(start)

            condition.lock()
            running.removeAll { $0 === job }
            if job.snapshot.status == .succeeded {
                secondsPerJob = 0.7 * secondsPerJob + 0.3 * seconds
            }
            condition.unlock()
        }
    }
}

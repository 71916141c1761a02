import Foundation

/// The job API's jobs by id. Unfinished jobs are bounded by the queue; of the finished ones only
/// the newest `keptFinished` are remembered (with their images), so memory stays bounded.
public final class JobRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var jobs: [String: GenerationJob] = [:]
    private var order: [String] = []  // insertion order
    /// Finished jobs remembered.
    public let keptFinished: Int

    /// A registry remembering at most `keptFinished` finished jobs (at least 1).
    public init(keptFinished: Int) {
        self.keptFinished = max(1, keptFinished)
    }

    /// Remembers a job, forgetting the oldest finished ones beyond `keptFinished`.
    public func add(_ job: GenerationJob) {
        lock.lock()
        defer { lock.unlock() }
        jobs[job.id] = job
        order.append(job.id)
        let finished = order.filter { jobs[$0]?.snapshot.status.isFinal == true }
        if finished.count > keptFinished {
            let drop = Set(finished.prefix(finished.count - keptFinished))
            for id in drop { jobs[id] = nil }
            order.removeAll { drop.contains($0) }
        }
    }

    /// Forgets a job (e.g. one the queue refused).
    public func remove(_ job: GenerationJob) {
        lock.lock()
        defer { lock.unlock() }
        jobs[job.id] = nil
        order.removeAll { $0 == job.id }
    }

    /// The job with this id, if remembered.
    public func job(id: String) -> GenerationJob? {
        lock.lock()
        defer { lock.unlock() }
        return jobs[id]
    }
}

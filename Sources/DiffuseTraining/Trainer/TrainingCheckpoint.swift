import DiffuseFormats
import DiffuseNN
import DiffuseTensor
import Foundation

/// Where a run is, besides its tensors: saved as `trainer_state.json` in each checkpoint.
public struct TrainerState: Codable, Sendable, Equatable {
    /// Optimizer steps done.
    public var step: Int
    /// Data order: epoch and position of the next image (`EpochOrder`).
    public var epoch: Int
    public var position: Int
    /// `TrainingRandom.state`, as a decimal string (JSON numbers lose 64-bit integers).
    public var randomState: String
    /// EMA updates done.
    public var emaStep: Int
    /// The loss of every optimizer step so far (mean over its micro-batches).
    public var losses: [Float]
    /// Seconds spent training so far (over all sessions of the run).
    public var trainingSeconds: Double
}

/// A complete checkpoint of a run: weights, EMA weights, optimizer state and `TrainerState`,
/// in `OUTPUT/checkpoints/checkpoint-NNNNNN/`.
///
/// Written into `.checkpoint-NNNNNN.partial/` (every file written atomically and `fsync`ed), then
/// renamed into place: a run killed at any moment leaves either no new checkpoint or a complete
/// one, and `newest(in:)` only ever sees complete ones.
public struct TrainingCheckpoint {
    public var state: TrainerState
    public var weights: [String: Tensor]
    public var emaWeights: [String: Tensor]?
    public var optimizerTensors: [String: Tensor]
    public var optimizerMetadata: [String: String]

    public init(state: TrainerState, weights: [String: Tensor], emaWeights: [String: Tensor]?,
                optimizerTensors: [String: Tensor], optimizerMetadata: [String: String]) {
        self.state = state
        self.weights = weights
        self.emaWeights = emaWeights
        self.optimizerTensors = optimizerTensors
        self.optimizerMetadata = optimizerMetadata
    }

    static let prefix = "checkpoint-"

    /// `checkpoint-000120` for step 120.
    public static func folderName(step: Int) -> String { prefix + String(format: "%06d", step) }

    /// Writes the checkpoint under `directory` (created if needed) and returns its folder.
    /// - Throws: `TrainingError` / `SafeTensorsError` / `FileIOError` naming the path.
    @discardableResult
    public func write(in directory: URL) throws -> URL {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let name = Self.folderName(step: state.step)
        let partial = directory.appendingPathComponent(".\(name).partial")
        let final = directory.appendingPathComponent(name)
        if fm.fileExists(atPath: partial.path) { try fm.removeItem(at: partial) }
        try fm.createDirectory(at: partial, withIntermediateDirectories: false)
        do {
            try Self.writeTensors(weights, to: partial.appendingPathComponent("model.safetensors"))
            if let emaWeights { try Self.writeTensors(emaWeights, to: partial.appendingPathComponent("ema.safetensors")) }
            try Self.writeTensors(optimizerTensors, metadata: optimizerMetadata, to: partial.appendingPathComponent("optimizer.safetensors"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try FileIO.writeAtomically(try encoder.encode(state), to: partial.appendingPathComponent("trainer_state.json"))
        } catch {
            // A full disk: the half-written folder goes, the previous checkpoints stay.
            try? fm.removeItem(at: partial)
            throw error
        }
        if fm.fileExists(atPath: final.path) { try fm.removeItem(at: final) }
        guard rename(partial.path, final.path) == 0 else {
            throw TrainingError("cannot rename \(partial.path) to \(final.path): \(String(cString: strerror(errno)))")
        }
        Self.syncDirectory(directory)
        return final
    }

    /// Reads a checkpoint folder.
    /// - Throws: `TrainingError` or `SafeTensorsError` naming the file.
    public static func read(_ folder: URL) throws -> TrainingCheckpoint {
        let stateURL = folder.appendingPathComponent("trainer_state.json")
        guard let data = FileManager.default.contents(atPath: stateURL.path) else {
            throw TrainingError("\(stateURL.path) is missing: \(folder.lastPathComponent) is not a complete checkpoint")
        }
        let state: TrainerState
        do { state = try JSONDecoder().decode(TrainerState.self, from: data) } catch {
            throw TrainingError("\(stateURL.path) is not a trainer state: \(error)")
        }
        let emaURL = folder.appendingPathComponent("ema.safetensors")
        let optimizer = try readTensors(folder.appendingPathComponent("optimizer.safetensors"))
        return TrainingCheckpoint(
            state: state, weights: try readTensors(folder.appendingPathComponent("model.safetensors")).tensors,
            emaWeights: FileManager.default.fileExists(atPath: emaURL.path) ? try readTensors(emaURL).tensors : nil,
            optimizerTensors: optimizer.tensors, optimizerMetadata: optimizer.metadata)
    }

    /// Complete checkpoints under `directory`, oldest first (unfinished `.partial` folders are not listed).
    public static func list(in directory: URL) -> [(step: Int, folder: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix(prefix), let step = Int(name.dropFirst(prefix.count)) else { return nil }
            let folder = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("trainer_state.json").path) else { return nil }
            return (step, folder)
        }.sorted { $0.0 < $1.0 }.map { (step: $0.0, folder: $0.1) }
    }

    /// The newest complete checkpoint, if any.
    public static func newest(in directory: URL) -> URL? { list(in: directory).last?.folder }

    /// The newest checkpoint that reads back, trying older ones when a newer one is damaged;
    /// `fallingBack(damaged, error, older)` is told each time. Throws the newest one's error when
    /// none reads.
    public static func newestReadable(in directory: URL, fallingBack: (URL, Error, URL) -> Void) throws -> (URL, TrainingCheckpoint) {
        let folders = Array(list(in: directory).map(\.folder).reversed())
        var firstError: Error? = nil
        for (i, folder) in folders.enumerated() {
            do { return (folder, try read(folder)) } catch {
                firstError = firstError ?? error
                if i + 1 < folders.count { fallingBack(folder, error, folders[i + 1]) }
            }
        }
        throw firstError ?? TrainingError("\(directory.path) holds no checkpoint")
    }

    /// Deletes the `.NAME.partial` folders that writes interrupted by a kill or a full disk left
    /// in `directory`.
    public static func removeUnfinished(in directory: URL) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix(".") && name.hasSuffix(".partial") {
            try? fm.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// Deletes all but the newest `keep` checkpoints, and leftover `.partial` folders.
    public static func prune(in directory: URL, keep: Int) {
        let fm = FileManager.default
        for (_, folder) in list(in: directory).dropLast(keep) { try? fm.removeItem(at: folder) }
        removeUnfinished(in: directory)
    }

    static func writeTensors(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        let entries = tensors.keys.sorted().map { key -> SafeTensorsWriter.Entry in
            let t = tensors[key]!.contiguous()
            let bytes = [UInt8](UnsafeRawBufferPointer(start: t.pointer, count: t.count * 4))
            return SafeTensorsWriter.Entry(name: key, dtype: .float32, shape: t.shape, bytes: bytes)
        }
        try SafeTensorsWriter.write(entries, metadata: metadata, to: url)
    }

    static func readTensors(_ url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let file = try SafeTensorsFile(url: url)
        var out: [String: Tensor] = [:]
        for name in file.tensorNames {
            out[name] = Tensor(shape: try file.info(name).shape, try file.floats(name))
        }
        return (out, file.metadata)
    }

    static func syncDirectory(_ directory: URL) {
        let fd = open(directory.path, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

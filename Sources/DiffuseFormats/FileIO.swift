import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file I/O failure: `path` and the failing operation, with the `errno` text.
public struct FileIOError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var operation: String
    public var reason: String

    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(path): \(operation) failed: \(reason)" }

    static func posix(_ path: String, _ operation: String, _ code: Int32 = errno) -> FileIOError {
        FileIOError(path: path, operation: operation, reason: String(cString: strerror(code)))
    }
}

/// Small POSIX helpers shared by the readers and writers of this module.
public enum FileIO {
    /// Writes a file atomically: the bytes go to a new temporary file in the same directory
    /// (created with `O_EXCL`, mode 0644 before umask), which is `fsync`ed, closed and then
    /// `rename`d over `url`; finally the directory is `fsync`ed (best effort). A crash at any
    /// point leaves either the old file or the complete new one under the final name, never a
    /// partial one. On failure the temporary file is removed.
    ///
    /// - Parameter produce: called once with a `write` function that appends bytes to the file.
    public static func writeAtomically(
        to url: URL,
        _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let base = url.lastPathComponent
        var fd: Int32 = -1
        var tempPath = ""
        for attempt in 0..<16 {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            tempPath = (directory.isEmpty ? "." : directory) + "/.\(base).tmp-\(getpid())-\(suffix)"
            fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 { break }
            if errno != EEXIST || attempt == 15 { throw FileIOError.posix(tempPath, "create temporary file") }
        }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(tempPath) }
        }
        try produce { bytes in
            var offset = 0
            while offset < bytes.count {
                guard let base = bytes.baseAddress else { return }
                let n = write(fd, base + offset, min(bytes.count - offset, 1 << 30))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileIOError.posix(tempPath, "write")
                }
                offset += n
            }
        }
        if fsync(fd) != 0 { throw FileIOError.posix(tempPath, "fsync") }
        closed = true
        if close(fd) != 0 { throw FileIOError.posix(tempPath, "close") }
        if rename(tempPath, path) != 0 { throw FileIOError.posix(path, "rename temporary file into place") }
        renamed = true
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    /// Reads a whole regular file into memory.
    static func readFile(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw FileIOError(path: url.path, operation: "read", reason: error.localizedDescription)
        }
    }
}

/// A read-only, private memory mapping of a whole file (`mmap(2)` with `PROT_READ`/`MAP_PRIVATE`),
/// unmapped when released. Empty files are represented without a mapping.
///
/// If another process truncates the file while it is mapped, touching the lost pages raises
/// SIGBUS; that cannot be prevented by a reader and is the usual mmap caveat.
final class MappedFile {
    let base: UnsafeRawPointer?
    let count: Int

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw FileIOError.posix(path, "open") }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw FileIOError.posix(path, "stat") }
        if (info.st_mode & S_IFMT) != S_IFREG {
            throw FileIOError(path: path, operation: "open", reason: "not a regular file")
        }
        let size = Int(info.st_size)
        count = size
        if size == 0 {
            base = nil
            return
        }
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), pointer != MAP_FAILED else {
            throw FileIOError.posix(path, "mmap")
        }
        base = UnsafeRawPointer(pointer)
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}

extension FileIO {
    /// Writes `data` to `url` atomically (see `writeAtomically(to:_:)`).
    /// - Throws: `FileIOError` naming the path and the failed operation.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        try writeAtomically(to: url) { write in try data.withUnsafeBytes { try write($0) } }
    }
}

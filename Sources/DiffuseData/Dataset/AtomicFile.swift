import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Atomic whole-file writes (internal): the bytes go to a new temporary file in the same directory
/// (`O_EXCL`, mode 0644 before umask), which is `fsync`ed, closed and renamed over the target; the
/// directory is then `fsync`ed (best effort). A crash leaves the old file or the complete new one
/// under the final name, never a partial one. On failure the temporary file is removed.
/// (The same protocol as `PNGImage.write(to:)`.)
enum AtomicFile {
    /// Writes `bytes` to `url`. With `syncDirectory: false` the directory is not `fsync`ed; the
    /// caller must call `syncDirectory(_:)` before relying on the new names being durable.
    static func write(_ bytes: [UInt8], to url: URL, syncDirectory: Bool = true) throws {
        let directory = url.deletingLastPathComponent().path
        let dir = directory.isEmpty ? "." : directory
        var fd: Int32 = -1
        var temp = ""
        for attempt in 0..<16 {
            temp = dir + "/.\(url.lastPathComponent).tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 { break }
            if errno != EEXIST || attempt == 15 { throw failure(temp, "create temporary file") }
        }
        var closed = false, renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temp) }
        }
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count, let base = buffer.baseAddress {
                let n = posixWrite(fd, base + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure(temp, "write")
                }
                offset += n
            }
        }
        if fsync(fd) != 0 { throw failure(temp, "fsync") }
        closed = true
        if close(fd) != 0 { throw failure(temp, "close") }
        if rename(temp, url.path) != 0 { throw failure(url.path, "rename temporary file into place") }
        renamed = true
        if syncDirectory { Self.syncDirectory(dir) }
    }

    /// `fsync`s a directory (best effort), making the renames inside it durable.
    static func syncDirectory(_ path: String) {
        let dirfd = open(path, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    private static func failure(_ path: String, _ operation: String) -> EmojiDatasetError {
        .io(path: path, reason: "\(operation) failed: \(String(cString: strerror(errno)))")
    }
}

/// `write(2)`, at file scope so the name is not shadowed by `AtomicFile.write`.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}

import Foundation

/// Memory figures from Linux's `/proc`, for A1111's `GET /sdapi/v1/memory`.
enum ProcessMemory {
    /// Physical memory of the machine in bytes (`MemTotal` of `/proc/meminfo`), or nil.
    static var totalBytes: Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return nil }
        return kilobytes * 1024
    }

    /// This process's resident memory in bytes (second field of `/proc/self/statm`, in pages), or nil.
    static var residentBytes: Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return nil }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }
}

import Foundation

/// Reads a `merges.txt`: an optional `#version: …` first line, then one merge a line, the two
/// symbols separated by a space ("i n", "t h", …), highest priority first. Blank lines are
/// skipped; any other line that is not two symbols is an error naming the file and line.
enum BPEMergesParser {
    /// The merges of the file at `url`, whose UTF-8 content is `bytes`, in file order.
    static func parse(_ bytes: [UInt8], url: URL) throws -> [(first: String, second: String)] {
        var merges: [(first: String, second: String)] = []
        merges.reserveCapacity(bytes.count / 10)
        var lineStart = 0
        var lineNumber = 0
        let newline = UInt8(ascii: "\n")
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != newline { lineEnd += 1 }
            lineNumber += 1
            var contentEnd = lineEnd
            if contentEnd > lineStart, bytes[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
            let line = bytes[lineStart..<contentEnd]
            lineStart = lineEnd + 1
            if line.isEmpty { continue }
            if lineNumber == 1, line.starts(with: Array("#version".utf8)) { continue }
            guard let space = line.firstIndex(of: UInt8(ascii: " ")),
                  space > line.startIndex, space + 1 < line.endIndex,
                  !line[(space + 1)...].contains(UInt8(ascii: " ")) else {
                let text = String(decoding: line.prefix(80), as: UTF8.self)
                throw TokenizerError.malformedFile(
                    url, reason: "line \(lineNumber) is not two symbols separated by one space: \(String(reflecting: text))")
            }
            merges.append((String(decoding: line[..<space], as: UTF8.self),
                           String(decoding: line[(space + 1)...], as: UTF8.self)))
        }
        return merges
    }
}

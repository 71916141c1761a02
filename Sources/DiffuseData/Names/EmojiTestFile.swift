import Foundation

/// One data line of Unicode's `emoji-test.txt`, e.g.
/// `1F44D 1F3FD ; fully-qualified # 👍🏽 E1.0 thumbs up: medium skin tone`.
public struct EmojiTestEntry: Equatable, Sendable {
    /// The line's qualification status.
    public enum Status: String, Sendable, CaseIterable {
        case component = "component"
        case fullyQualified = "fully-qualified"
        case minimallyQualified = "minimally-qualified"
        case unqualified = "unqualified"
    }

    /// The code points.
    public var scalars: [Unicode.Scalar]
    /// The qualification status (`fully-qualified`, …).
    public var status: Status
    /// The CLDR short name, e.g. `"red apple"`, `"flag: Japan"`.
    public var name: String
    /// The Emoji version that introduced it, e.g. `"0.6"`, `"13.0"` (from `E13.0`).
    public var emojiVersion: String
    /// The `# group:` header above the line, e.g. `"Food & Drink"`.
    public var group: String
    /// The `# subgroup:` header above the line, e.g. `"food-fruit"`.
    public var subgroup: String
    /// The 1-based line number in the file.
    public var line: Int

    /// The code points as upper-case hex separated by spaces, as the file writes them (`"1F44D 1F3FD"`).
    public var codePointsText: String { scalars.map { hex($0.value) }.joined(separator: " ") }

    /// `emojiVersion` as numbers for ordering (`"13.1"` → `[13, 1]`).
    var versionKey: [Int] { emojiVersion.split(separator: ".").map { Int($0) ?? Int.max } }
}

/// Why `emoji-test.txt` could not be read.
public struct EmojiTestFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file's path (or the name given to the parser).
    public var file: String
    /// The 1-based line, or 0 for errors about the whole file.
    public var line: Int
    /// What is wrong.
    public var detail: String

    /// `file:line: detail` (or `file: detail`).
    public var description: String { line > 0 ? "\(file):\(line): \(detail)" : "\(file): \(detail)" }
}

/// Parser for Unicode's `emoji-test.txt` (UTS #51).
///
/// Data lines are `code points ; status # emoji E<version> name`; `# group: …` and
/// `# subgroup: …` comment lines set the group and subgroup of the lines after them; other comment
/// lines and blank lines are skipped. Every data line is checked: hex code points that are Unicode
/// scalars, a known status, the emoji text equal to the code points, an `E<major>.<minor>` version
/// and a non-empty name. A malformed line is an error naming the line, not skipped silently.
public enum EmojiTestFile {
    /// Reads and parses the file at `url`.
    /// - Throws: `EmojiTestFileError`.
    public static func read(_ url: URL) throws -> [EmojiTestEntry] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw EmojiTestFileError(file: url.path, line: 0, detail: "cannot read: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw EmojiTestFileError(file: url.path, line: 0, detail: "is not valid UTF-8")
        }
        return try parse(text, file: url.path)
    }

    /// Parses the file's text; `file` names it in errors.
    /// - Throws: `EmojiTestFileError`.
    public static func parse(_ text: String, file: String) throws -> [EmojiTestEntry] {
        var entries: [EmojiTestEntry] = []
        var group = "", subgroup = ""
        var number = 0
        // "\r\n" is one Character, so split on both forms of line end.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            func fail(_ detail: String) -> EmojiTestFileError { EmojiTestFileError(file: file, line: number, detail: detail) }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("#") {
                let comment = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
                if comment.hasPrefix("group:") {
                    group = comment.dropFirst("group:".count).trimmingCharacters(in: .whitespaces)
                    subgroup = ""
                } else if comment.hasPrefix("subgroup:") {
                    subgroup = comment.dropFirst("subgroup:".count).trimmingCharacters(in: .whitespaces)
                }
                continue
            }
            guard let semicolon = line.firstIndex(of: ";"), let hash = line[semicolon...].firstIndex(of: "#") else {
                throw fail("expected 'code points ; status # emoji E<version> name'")
            }
            var scalars: [Unicode.Scalar] = []
            for field in line[..<semicolon].split(separator: " ", omittingEmptySubsequences: true) {
                guard field.count <= 6, let value = UInt32(field, radix: 16), let scalar = Unicode.Scalar(value) else {
                    throw fail("'\(field)' is not a hexadecimal Unicode scalar value")
                }
                scalars.append(scalar)
            }
            guard !scalars.isEmpty else { throw fail("no code points before ';'") }
            let statusText = line[line.index(after: semicolon)..<hash].trimmingCharacters(in: .whitespaces)
            guard let status = EmojiTestEntry.Status(rawValue: statusText) else {
                throw fail("unknown status '\(statusText)'")
            }
            // Comment: "<emoji> E<version> <name>".
            let comment = line[line.index(after: hash)...].trimmingCharacters(in: .whitespaces)
            let parts = comment.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard parts.count == 3 else { throw fail("expected '# emoji E<version> name' after the status") }
            guard Array(parts[0].unicodeScalars) == scalars else {
                throw fail("the emoji '\(parts[0])' does not match the code points \(scalars.map { hex($0.value) }.joined(separator: " "))")
            }
            let versionText = parts[1]
            let versionNumbers = versionText.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
            guard versionText.first == "E", versionNumbers.count == 2, versionNumbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && Int($0) != nil }) else {
                throw fail("'\(versionText)' is not an emoji version like E13.0")
            }
            let name = parts[2].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw fail("empty name") }
            entries.append(EmojiTestEntry(scalars: scalars, status: status, name: name,
                                          emojiVersion: String(versionText.dropFirst()), group: group,
                                          subgroup: subgroup, line: number))
        }
        guard !entries.isEmpty else { throw EmojiTestFileError(file: file, line: 0, detail: "has no emoji lines") }
        return entries
    }
}

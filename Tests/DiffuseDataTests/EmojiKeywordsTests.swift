import DiffuseData
import Foundation
import Testing

@Suite struct EmojiKeywordsTests {
    static let xml = """
    <?xml version="1.0" encoding="UTF-8" ?>
    <ldml>
    \t<annotations>
    \t\t<annotation cp="🍎">apple | fruit | red</annotation>
    \t\t<annotation cp="🍎" type="tts">red apple</annotation>
    \t\t<annotation cp="❤‍🔥">burn | heart | heart on fire | love</annotation> <!-- 2764 200D 1F525 -->
    \t\t<annotation cp="&amp;">ampersand | and | et</annotation>
    \t\t<annotation cp="🐱">cat | face | pet | &quot;kitty&quot;</annotation>
    \t</annotations>
    </ldml>
    """

    @Test func readsKeywordsSkipsNamesAndMatchesWithOrWithoutFE0F() {
        var keywords = EmojiKeywords()
        keywords.add(xml: Self.xml)
        #expect(keywords.keywords(for: ["\u{1F34E}"]) == ["apple", "fruit", "red"])
        // The short name (tts line) is not a keyword, and the caption's own text is left out.
        #expect(keywords.keywords(for: ["\u{1F34E}"], excluding: "Red") == ["apple", "fruit"])
        // emoji-test.txt writes FE0F where CLDR does not.
        #expect(keywords.keywords(for: ["\u{2764}", "\u{FE0F}", "\u{200D}", "\u{1F525}"], excluding: "heart on fire") == ["burn", "heart", "love"])
        #expect(keywords.keywords(for: ["&"]) == ["ampersand", "and", "et"])
        #expect(keywords.keywords(for: ["\u{1F431}"]) == ["cat", "face", "pet", "\"kitty\""])
        #expect(keywords.keywords(for: ["\u{1F600}"]).isEmpty)
        // A second file adds to the first without repeating.
        keywords.add(xml: "<annotation cp=\"🍎\">fruit | orchard</annotation>")
        #expect(keywords.keywords(for: ["\u{1F34E}"]) == ["apple", "fruit", "red", "orchard"])
    }

    @Test func unreadableOrEmptyFilesAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-keywords-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.xml")
        try "<ldml></ldml>".write(to: empty, atomically: true, encoding: .utf8)
        for url in [empty, dir.appendingPathComponent("missing.xml")] {
            do {
                _ = try EmojiKeywords(files: [url])
                Issue.record("accepted \(url.lastPathComponent)")
            } catch let error as EmojiTestFileError {
                #expect(error.description.contains(url.lastPathComponent))
            }
        }
        let good = dir.appendingPathComponent("en.xml")
        try Self.xml.write(to: good, atomically: true, encoding: .utf8)
        #expect(try EmojiKeywords(files: [good]).keywords(for: ["\u{1F34E}"]) == ["apple", "fruit", "red"])
    }

    /// Debian's unicode-cldr-core (make deps), when installed: the real files know the common emoji.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: EmojiKeywords.debianFiles[0].path)))
    func debianAnnotations() throws {
        let keywords = try EmojiKeywords(files: EmojiKeywords.debianFiles)
        #expect(keywords.table.count > 3000)
        #expect(keywords.keywords(for: ["\u{1F34E}"], excluding: "red apple").contains("fruit"))
        #expect(keywords.keywords(for: ["\u{1F6B2}"], excluding: "bicycle").contains("bike"))
    }
}

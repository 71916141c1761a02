import DiffuseData
import Foundation
import Testing

@Suite struct EmojiTestFileTests {
    @Test func parsesLinesGroupsAndStatuses() throws {
        let text = """
        # emoji-test.txt
        # Version: 15.0

        # group: Food & Drink

        # subgroup: food-fruit
        1F34E                                                  ; fully-qualified     # 🍎 E0.6 red apple
        # subgroup: keycap
        0023 FE0F 20E3                                         ; fully-qualified     # #️⃣ E0.6 keycap: #
        0023 20E3                                              ; unqualified         # #⃣ E0.6 keycap: #
        # group: People & Body
        # subgroup: hand-fingers-closed
        1F44D 1F3FD                                            ; fully-qualified     # 👍🏽 E1.0 thumbs up: medium skin tone\r
        1F441 FE0F 200D 1F5E8                                  ; minimally-qualified # 👁️‍🗨 E2.0 eye in speech bubble
        # group: Component
        # subgroup: skin-tone
        1F3FB                                                  ; component           # 🏻 E1.0 light skin tone

        #EOF
        """
        let entries = try EmojiTestFile.parse(text, file: "t")
        try #require(entries.count == 6)
        #expect(entries.map(\.name) == ["red apple", "keycap: #", "keycap: #", "thumbs up: medium skin tone",
                                        "eye in speech bubble", "light skin tone"])
        #expect(entries.map(\.status) == [.fullyQualified, .fullyQualified, .unqualified, .fullyQualified, .minimallyQualified, .component])
        #expect(entries[0].group == "Food & Drink" && entries[0].subgroup == "food-fruit" && entries[0].line == 7)
        #expect(entries[1].codePointsText == "0023 FE0F 20E3" && entries[1].subgroup == "keycap")
        #expect(entries[3].group == "People & Body" && entries[3].emojiVersion == "1.0")
        #expect(entries[5].group == "Component" && entries[5].scalars == ["\u{1F3FB}"])
    }

    @Test(arguments: [
        ("1F34G ; fully-qualified # 🍎 E0.6 red apple", "is not a hexadecimal Unicode scalar value"),
        ("D800 ; fully-qualified # x E0.6 surrogate", "is not a hexadecimal Unicode scalar value"),
        ("1F34E ; well-qualified # 🍎 E0.6 red apple", "unknown status"),
        ("1F34E ; fully-qualified # 🍏 E0.6 red apple", "does not match the code points"),
        ("1F34E ; fully-qualified # 🍎 0.6 red apple", "is not an emoji version"),
        ("1F34E ; fully-qualified # 🍎 E0.6", "expected '# emoji E<version> name'"),
        ("1F34E fully-qualified 🍎 E0.6 red apple", "expected 'code points ; status"),
        (" ; fully-qualified # 🍎 E0.6 red apple", "no code points"),
    ])
    func malformedLinesAreErrorsWithTheirLineNumber(line: String, message: String) throws {
        let text = "# group: Food & Drink\n" + line + "\n"
        do {
            _ = try EmojiTestFile.parse(text, file: "bad.txt")
            Issue.record("accepted: \(line)")
        } catch let error as EmojiTestFileError {
            #expect(error.line == 2)
            #expect(error.description.hasPrefix("bad.txt:2: "))
            #expect(error.detail.contains(message), "\(error)")
        }
    }

    @Test func emptyAndMissingFiles() throws {
        #expect(throws: EmojiTestFileError.self) { try EmojiTestFile.parse("# only comments\n", file: "empty") }
        #expect(throws: EmojiTestFileError.self) {
            try EmojiTestFile.read(URL(fileURLWithPath: "/nonexistent/emoji-test.txt"))
        }
    }

    @Test func unicodeNameFallback() {
        #expect(unicodeScalarCaption("6") == "digit six")
        #expect(unicodeScalarCaption("\u{1F1EF}") == "regional indicator symbol letter j")
        #expect(unicodeScalarCaption("\u{1F34E}") == "red apple")
        #expect(unicodeScalarCaption("\u{E000}") == nil, "private use: no name")
    }
}

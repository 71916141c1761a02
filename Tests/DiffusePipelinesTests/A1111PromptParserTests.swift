import DiffusePipelines
import Testing

/// AUTOMATIC1111's `parse_prompt_attention` rules: its docstring examples verbatim, and cases
/// derived from its regular expression (escapes, stray closers, BREAK inside brackets, weights
/// that are not numbers).
@Suite struct A1111PromptParserTests {
    func parse(_ text: String) throws -> [PromptFragment] { try A1111PromptParser.parse(text) }
    func f(_ text: String, _ weight: Double) -> PromptFragment { PromptFragment(text, weight) }

    @Test func docstringExamples() throws {
        #expect(try parse("normal text") == [f("normal text", 1)])
        #expect(try parse("an (important) word") == [f("an ", 1), f("important", 1.1), f(" word", 1)])
        #expect(try parse("(unbalanced") == [f("unbalanced", 1.1)])
        #expect(try parse(#"\(literal\]"#) == [f("(literal]", 1)])
        #expect(try parse("(unnecessary)(parens)") == [f("unnecessaryparens", 1.1)])
        // The docstring's values to the last bit (Python floats).
        #expect(try parse("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).") == [
            f("a ", 1), f("house", 1.5730000000000004), f(" ", 1.1), f("on", 1), f(" a ", 1.1), f("hill", 0.55),
            f(", sun, ", 1.1), f("sky", 1.4641000000000006), f(".", 1.1),
        ])
    }

    @Test func escapesAndBackslashes() throws {
        #expect(try parse(#"a \\ b \[c\] \(d\)"#) == [f(#"a \ b [c] (d)"#, 1)])
        // A backslash before anything else is dropped (A1111 appends the match minus its backslash: "").
        #expect(try parse(#"a\b"#) == [f("ab", 1)])
    }

    @Test func unbalancedAndStrayBrackets() throws {
        #expect(try parse("a) b] c: (d:0.5 e") == [f("a) b] c: ", 1), f("d:0.5 e", 1.1)])
        // `:w)` with no open round bracket is text; square brackets close after round ones at the end.
        #expect(try parse("x :2) [a (b") == [f("x :2) ", 1), f("a ", 1 / 1.1), f("b", 1)])
        #expect(try parse("((a:1.5) b)") == [f("a", 1.5 * 1.1), f(" b", 1.1)])
        #expect(try parse("[[a]]") == [f("a", (1 / 1.1) * (1 / 1.1))])
        #expect(try parse("") == [f("", 1)])
        #expect(try parse("()") == [f("", 1)])
    }

    @Test func weightThatIsNotANumber() throws {
        #expect(throws: PromptSyntaxError.self) { try parse("(a:1.2.3)") }
        #expect(throws: PromptSyntaxError.self) { try parse("(a:.)") }
        // Not a weight at all (a space before ")"): a literal colon, as in A1111.
        #expect(try parse("(a:1.2 )") == [f("a:1.2 ", 1.1)])
        #expect(try parse("(a:-1)") == [f("a", -1)])
    }

    @Test func breaks() throws {
        #expect(try parse("a BREAK b") == [f("a", 1), .breakMarker, f("b", 1)])
        #expect(try parse("BREAK") == [f("", 1), .breakMarker, f("", 1)])
        #expect(try parse("aBREAK b BREAKs BREAK_x") == [f("aBREAK b BREAKs BREAK_x", 1)])
        #expect(try parse("a\nBREAK\n(b)") == [f("a", 1), .breakMarker, f("", 1), f("b", 1.1)])
        // Inside brackets the marker's weight is multiplied too: A1111 then reads it as the word.
        let bracketed = try parse("(a BREAK b)")
        #expect(bracketed == [f("a", 1.1), f("BREAK", -1.1), f("b", 1.1)])
        #expect(!bracketed[1].isBreak)
    }

    @Test func extraNetworkTags() throws {
        let (text, tags) = PromptAdapterTag.extract(from: "a <lora:foo_bar:0.8> b <hypernet:x:1:te=0.5> <a b:c> <x:> <lora:y")
        #expect(text == "a  b  <a b:c> <x:> <lora:y")
        #expect(tags == [PromptAdapterTag(kind: "lora", arguments: ["foo_bar", "0.8"]),
                         PromptAdapterTag(kind: "hypernet", arguments: ["x", "1", "te=0.5"])])
        #expect(tags[0].name == "foo_bar")
        #expect(try tags[0].multiplier() == 0.8 && tags[0].unetMultiplier() == 0.8)
        #expect(try tags[1].multiplier() == 0.5 && tags[1].positional == ["x", "1"])
        #expect(try PromptAdapterTag.extract(from: "<lora:z>").tags[0].multiplier() == 1)
        #expect(try PromptAdapterTag.extract(from: "<lora:z:1:0.25>").tags[0].unetMultiplier() == 0.25)
        #expect(throws: PromptSyntaxError.self) { try PromptAdapterTag.extract(from: "<lora:z:abc>").tags[0].multiplier() }
        var request = GenerationRequest(prompt: "a <lora:foo:0.5> cat")
        #expect(request.adapterTags.isEmpty)
        request.promptSyntax = .a1111
        #expect(request.adapterTags.map(\.name) == ["foo"])
    }
}

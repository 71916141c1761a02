import DiffuseFormats
import Foundation
import Testing

@Suite struct InfotextTests {
    static let basic = Infotext(
        prompt: "a photo of a cat, highly detailed", negativePrompt: "blurry, lowres", steps: 20,
        sampler: "Euler a", cfgScale: 7.5, seed: 42, width: 512, height: 512, model: "sd15")

    @Test func renderMatchesA1111Layout() {
        #expect(Self.basic.render() == """
            a photo of a cat, highly detailed
            Negative prompt: blurry, lowres
            Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: sd15
            """)
    }

    @Test func renderOmitsEmptyNegativePromptAndQuotesLikeA1111() {
        var info = Self.basic
        info.negativePrompt = ""
        info.cfgScale = 7
        info.extra = [("Model hash", "cc6cb27103"), ("Lora hashes", "add_detail: 7c6bad76eb54, style: 1a2b"),
                      ("TI hashes", "easynegative: c74b4e810b03"),
                      ("Note", "say \"hi\"\nbye"), ("Version", "v1.9.4")]
        #expect(info.render() == """
            a photo of a cat, highly detailed
            Steps: 20, Sampler: Euler a, CFG scale: 7.0, Seed: 42, Size: 512x512, Model: sd15, \
            Model hash: cc6cb27103, Lora hashes: "add_detail: 7c6bad76eb54, style: 1a2b", \
            TI hashes: "easynegative: c74b4e810b03", \
            Note: "say \\"hi\\"\\nbye", Version: v1.9.4
            """)
    }

    @Test func parsesRealA1111Text() throws {
        let text = """
            masterpiece, best quality, 1girl, (smile:1.2),
            city street at night
            Negative prompt: lowres, bad anatomy,
            extra fingers
            Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234567890, \
            Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, \
            Lora hashes: "add_detail: 7c6bad76eb54", Version: v1.9.4
            """
        let info = try #require(Infotext.parse(text))
        #expect(info.prompt == "masterpiece, best quality, 1girl, (smile:1.2),\ncity street at night")
        #expect(info.negativePrompt == "lowres, bad anatomy,\nextra fingers")
        #expect(info.steps == 28)
        #expect(info.sampler == "DPM++ 2M")
        #expect(info.cfgScale == 7)
        #expect(info.seed == 1_234_567_890)
        #expect(info.width == 512 && info.height == 768)
        #expect(info.model == "v1-5-pruned-emaonly")
        #expect(info.extra.map(\.key) == ["Schedule type", "Model hash", "Lora hashes", "Version"])
        #expect(info.extra.map(\.value) == ["Karras", "6ce0161689", "add_detail: 7c6bad76eb54", "v1.9.4"])
    }

    @Test(arguments: [
        basic,
        Infotext(prompt: "a, b: c", negativePrompt: "", steps: 1, sampler: "DDIM", cfgScale: 1.0, seed: -1,
                 width: 64, height: 128, model: "m"),
        Infotext(prompt: "line one, with commas\nline two: colon\n猫 と 犬", negativePrompt: "neg, one\nneg two",
                 steps: 50, sampler: "DPM++ 2M Karras", cfgScale: 12.25, seed: 4_294_967_295, width: 768,
                 height: 512, model: "model, with: punctuation",
                 extra: [("Hires upscale", "2"), ("Denoising strength", "0.45"), ("Quoted", "\"already quoted\""),
                         ("Padded", " spaces "), ("Backslash", "a\\b"), ("Empty", ""), ("Tab", "a\tb"),
                         ("Unicode", "café, 猫")]),
        Infotext(prompt: "", negativePrompt: "only negative", steps: 5, sampler: "Euler", cfgScale: 0.5, seed: 0),
        Infotext(prompt: "no size", steps: 5, seed: 3, model: "x"),
    ])
    func renderParseRoundTrip(info: Infotext) throws {
        let parsed = try #require(Infotext.parse(info.render()))
        #expect(parsed == info, "\(info.render())")
        #expect(parsed.render() == info.render())
    }

    @Test func textWithoutParameterLineIsAllPrompt() throws {
        let info = try #require(Infotext.parse("just a prompt, style: anime\nsecond line"))
        #expect(info.prompt == "just a prompt, style: anime\nsecond line")
        #expect(info.steps == nil && info.extra.isEmpty)
        #expect(Infotext.parse("") == nil)
        #expect(Infotext.parse(" \n ") == nil)
    }

    @Test func malformedValuesGoToExtra() throws {
        let info = try #require(Infotext.parse("p\nSteps: many, Seed: 1.5, Size: big, CFG scale: 7"))
        #expect(info.steps == nil && info.seed == nil && info.width == nil)
        #expect(info.cfgScale == 7)
        #expect(info.extra.map(\.key) == ["Steps", "Seed", "Size"])
    }

    @Test func infotextSurvivesAPNGRoundTrip() throws {
        let image = try PNGImage(width: 1, height: 1, channels: 3, pixels: [0, 0, 0],
                                 text: [PNGTextEntry(keyword: "parameters", text: Self.basic.render())])
        let decoded = try PNGDecoder.decode(PNGEncoder.encode(image), name: "infotext.png")
        #expect(decoded.textValue(forKeyword: "parameters").flatMap(Infotext.parse) == Self.basic)
    }
}

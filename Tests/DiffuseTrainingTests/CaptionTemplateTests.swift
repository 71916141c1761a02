import DiffuseData
import DiffuseTraining
import Foundation
import Testing

@Suite struct CaptionTemplateTests {
    @Test func sentencesTakeTheRightArticle() {
        #expect(CaptionTemplates.apply(0, to: "apple") == "an apple")
        #expect(CaptionTemplates.apply(0, to: "red apple") == "a red apple")
        #expect(CaptionTemplates.apply(3, to: "Umbrella") == "an emoji of an Umbrella")
        #expect(CaptionTemplates.apply(2, to: "flag: Japan") == "flag: Japan emoji")
        #expect(CaptionTemplates.apply(1, to: "") == "")
        #expect(CaptionTemplates.sentences(for: "cat face") ==
            ["a cat face", "the cat face", "cat face emoji", "an emoji of a cat face", "a picture of a cat face"])
    }

    /// With `captionTemplates` 0.5 about half the captions come wrapped, in every template, each
    /// one listed in `possibleCaptions` (which the trainer encodes up front); the same seed gives
    /// the same captions, and without templates no sentence appears.
    @Test func trainingDataWrapsCaptionsWithTheGivenProbability() throws {
        let folder = try TrainerTestSupport.temporaryFolder("templates")
        defer { try? FileManager.default.removeItem(at: folder) }
        try TrainerTestSupport.writeDataset([("red apple", (230, 20, 20)), ("blue sky", (20, 20, 230))], size: 4, to: folder)
        try ("{\"file_name\": \"0000.png\", \"text\": \"red apple\", \"keywords\": [\"fruit\"]}\n" +
             "{\"file_name\": \"0001.png\", \"text\": \"blue sky\"}\n")
            .write(to: folder.appendingPathComponent("metadata.jsonl"), atomically: true, encoding: .utf8)
        let dataset = try ImageCaptionDataset(directory: folder, size: 4)

        func captions(templates: Double, count: Int = 800) throws -> (drawn: [String], possible: Set<String>) {
            let data = TrainingData(dataset: dataset, seed: 3, flip: false, captionDropout: 0.1, keywordCaptions: 0.3,
                                    captionTemplates: templates)
            var random = TrainingRandom(seed: 9)
            var drawn: [String] = []
            while drawn.count < count { drawn += try data.nextBatch(8, random: &random).captions }
            return (drawn, Set(data.possibleCaptions))
        }
        let (drawn, possible) = try captions(templates: 0.5)
        #expect(possible.count == 3 * (1 + CaptionTemplates.all.count) + 1)
        #expect(drawn.allSatisfy(possible.contains))
        let bare: Set = ["red apple", "blue sky", "fruit", ""]
        let wrapped = drawn.filter { !bare.contains($0) }.count
        let conditioned = drawn.filter { !$0.isEmpty }.count
        // Binomial(≈720, 0.5): ± 4.5 standard deviations.
        #expect(abs(Double(wrapped) / Double(conditioned) - 0.5) < 0.085, "\(wrapped) of \(conditioned) wrapped")
        for sentence in ["an emoji of a red apple", "a fruit", "the blue sky", "a picture of a blue sky"] {
            #expect(drawn.contains(sentence), "\(sentence)")
        }
        #expect(try captions(templates: 0.5).drawn == drawn)

        let (plain, plainPossible) = try captions(templates: 0)
        #expect(Set(plain).isSubset(of: bare) && plainPossible == bare)
    }

    @Test func probabilityOutsideTheUnitIntervalIsRefused() {
        var configuration = TrainingConfiguration(steps: 10, batchSize: 2, resolution: 8)
        configuration.captionTemplates = 1.5
        #expect(throws: TrainingError.self) { try configuration.validate() }
    }
}

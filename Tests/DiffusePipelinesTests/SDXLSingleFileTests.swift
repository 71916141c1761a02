import DiffuseFormats
import DiffuseNN
import DiffusePipelines
import DiffuseTensor
import Foundation
import Testing

/// Original (Stability key names) single-file SDXL checkpoints: the tiny base folder converted by
/// tools/make_sdxl_fixtures.py gives the folder's images, and files missing an encoder are refused.
@Suite struct SDXLSingleFileTests {
    static let root = SDXLPipelineParityTests.root

    static func cases(_ model: String) throws -> [SDXLPipelineParityTests.Case] { try SDXLPipelineParityTests.cases(model) }
    static func request(_ c: SDXLPipelineParityTests.Case, reference: URL) throws -> GenerationRequest {
        try SDXLPipelineParityTests.request(c, reference: reference)
    }

    /// base/ as an original SDXL single file (tools/make_sdxl_fixtures.py; diffusers'
    /// from_single_file rebuilds its tensors exactly) gives the folder's images.
    @Test func singleFileGivesTheFolderImages() throws {
        let base = Self.root.appendingPathComponent("base")
        let file = Self.root.appendingPathComponent("base-single-file.safetensors")
        let model = try DiffusionPipeline.load(sdxlSingleFile: file, configs: StableDiffusionXLConfigs(folder: base), tokenizers: base)
        let reference = base.appendingPathComponent("reference")
        for c in try Self.cases("base") where ["txt2img_euler", "txt2img_dpmpp_2m_zero_negative"].contains(c.name) {
            let image = try model.generate(try Self.request(c, reference: reference))[0]
            let diff = try PipelineParityTests.maxDifference(image, try PNGImage(contentsOf: reference.appendingPathComponent(c.outputs[0])))
            print("[parity] sdxl single file \(c.name): max channel difference \(diff)/255")
            #expect(diff <= 1)
        }
        // The generic single-file entry point tells SDXL from the keys (and then wants SDXL base's
        // full-size configs, which this tiny file does not fit: the error names the tensors).
        do {
            _ = try DiffusionPipeline.load(singleFile: file, tokenizer: base.appendingPathComponent("tokenizer"))
            Issue.record("the tiny file loaded with SDXL base's full-size configs")
        } catch let error as WeightLoadingError {
            #expect(error.description.contains("base-single-file.safetensors"), "\(error)")
        }
    }

    /// A single file without one of SDXL's encoders is refused, naming the file and the missing prefix.
    @Test func singleFileMissingAnEncoderIsRefused() throws {
        let file = Self.root.appendingPathComponent("base-single-file.safetensors")
        let source = try SafeTensorsFile(url: file)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdxl-missing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (dropped, expected) in [("conditioner.embedders.0.", "conditioner.embedders.0.transformer."),
                                    ("conditioner.embedders.1.model.text_projection", "text_projection")] {
            var entries: [SafeTensorsWriter.Entry] = []
            for name in source.tensorNames where !name.hasPrefix(dropped) {
                let info = try source.info(name)
                entries.append(.init(name: name, shape: info.shape, floats: try source.floats(name)))
            }
            let out = directory.appendingPathComponent("partial.safetensors")
            try SafeTensorsWriter.write(entries, to: out)
            do {
                _ = try DiffusionPipeline.load(sdxlSingleFile: out, configs: StableDiffusionXLConfigs(folder: Self.root.appendingPathComponent("base")),
                                               tokenizers: Self.root.appendingPathComponent("base"))
                Issue.record("a file without \(dropped) loaded")
            } catch let error as PipelineError {
                #expect(error.description.contains("partial.safetensors") && error.description.contains(expected), "\(error)")
            }
        }
    }
}

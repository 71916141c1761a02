import ArgumentParser
import DiffuseFormats
import DiffusePipelines
import Foundation

/// Two comma-separated positive or non-negative integers, as `--original-size 1024,768` writes them.
struct IntegerPair: ExpressibleByArgument {
    var first: Int
    var second: Int

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let b = Int(parts[1].trimmingCharacters(in: .whitespaces)) else { return nil }
        (first, second) = (a, b)
    }
}

/// SDXL's size and crop conditioning (`MicroConditioning`), shared by the commands that generate;
/// other models ignore it.
struct MicroConditioningOptions: ParsableArguments {
    @Option(help: ArgumentHelp("SDXL: the size the image is said to have had before cropping (default: the output size).", valueName: "W,H"))
    var originalSize: IntegerPair?

    @Option(help: ArgumentHelp("SDXL: the top-left corner the image is said to have been cropped at (default 0,0).", valueName: "TOP,LEFT"))
    var crop: IntegerPair?

    @Option(help: ArgumentHelp("SDXL: the size the image is said to be (default: the output size).", valueName: "W,H"))
    var targetSize: IntegerPair?

    func validate() throws {
        for (pair, flag) in [(originalSize, "--original-size"), (targetSize, "--target-size")] {
            if let pair, pair.first <= 0 || pair.second <= 0 {
                throw ValidationError("\(flag) \(pair.first),\(pair.second) must be two positive numbers W,H")
            }
        }
        if let crop, crop.first < 0 || crop.second < 0 {
            throw ValidationError("--crop \(crop.first),\(crop.second) must be two non-negative numbers TOP,LEFT")
        }
    }

    /// Sets `request`'s micro-conditioning fields from the flags given.
    func apply(to request: inout GenerationRequest) {
        request.originalSize = originalSize.map { DiffusersFolder.Size(width: $0.first, height: $0.second) }
        request.crop = crop.map { ImageCrop(top: $0.first, left: $0.second) }
        request.targetSize = targetSize.map { DiffusersFolder.Size(width: $0.first, height: $0.second) }
    }
}

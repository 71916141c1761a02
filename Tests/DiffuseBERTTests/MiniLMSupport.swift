import DiffuseFormats
import DiffuseModels
import DiffuseTensor
import Foundation
import Testing

/// Where the tests find all-MiniLM-L6-v2 and its reference outputs.
///
/// The model (90 MB, not committed) is `$DIFFUSE_MINILM_DIR` when set, else
/// `<repo>/.deps/all-MiniLM-L6-v2`, which `make deps` fills (tools/fetch_minilm.sh). The reference
/// outputs are `Tests/Fixtures/minilm` (tools/make_minilm_fixtures.py).
enum MiniLM {
    /// The repository, from this file's path (symlinks resolved, so a package that links this
    /// folder still finds it).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent()  // DiffuseBERTTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static let fixtureDirectory = repositoryRoot.appendingPathComponent("Tests/Fixtures/minilm")

    /// The model folder; throws (failing the test) when it has no `model.safetensors`.
    static func modelDirectory() throws -> URL {
        let environment = ProcessInfo.processInfo.environment["DIFFUSE_MINILM_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        let url = environment.map { URL(fileURLWithPath: $0) }
            ?? repositoryRoot.appendingPathComponent(".deps/all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("model.safetensors").path) else {
            throw MissingModel(path: url.path, fromEnvironment: environment != nil)
        }
        return url
    }

    /// The sentence encoder loaded from `modelDirectory()`.
    static func encoder() throws -> SentenceEncoder {
        try SentenceEncoder(directory: modelDirectory())
    }

    struct MissingModel: Error, CustomStringConvertible {
        let path: String
        let fromEnvironment: Bool
        var description: String {
            "all-MiniLM-L6-v2 is not at \(path)\(fromEnvironment ? " ($DIFFUSE_MINILM_DIR)" : ""): run `make deps` "
                + "(it calls tools/fetch_minilm.sh .deps/all-MiniLM-L6-v2), or set DIFFUSE_MINILM_DIR to a folder "
                + "holding model.safetensors, config.json and vocab.txt"
        }
    }

    /// `reference.json`.
    struct Reference: Decodable {
        struct Fixed: Decodable {
            let length: Int
            let ids: [[Int]]
            let attention_mask: [[Int]]
            let full_hidden: [Int]
        }
        struct Similarity: Decodable {
            let a: String
            let b: String
            let cosine: Double
        }
        let texts: [String]
        let ids: [[Int]]
        let rows: [[Int]]
        let full_hidden: [Int]
        let max_seq_length: Int
        let fixed: Fixed
        let similarities: [Similarity]
    }

    /// The reference outputs: `reference.json` and the tensors of `reference.safetensors`.
    struct Fixture {
        let reference: Reference
        let tensors: SafeTensorsFile

        init() throws {
            let data = try Data(contentsOf: MiniLM.fixtureDirectory.appendingPathComponent("reference.json"))
            reference = try JSONDecoder().decode(Reference.self, from: data)
            tensors = try SafeTensorsFile(url: MiniLM.fixtureDirectory.appendingPathComponent("reference.safetensors"))
        }

        func tensor(_ name: String) throws -> Tensor {
            Tensor(shape: try tensors.info(name).shape, try tensors.floats(name))
        }

        func index(of text: String) throws -> Int {
            try #require(reference.texts.firstIndex(of: text), "\(text) is not a fixture text")
        }
    }
}

/// Max abs and relative L2 (‖a − b‖ / ‖b‖) differences.
struct Difference: CustomStringConvertible {
    var maxAbs = 0.0
    var relativeL2 = 0.0

    init(_ actual: [Float], _ expected: [Float]) {
        precondition(actual.count == expected.count, "Difference: \(actual.count) vs \(expected.count) values")
        var num = 0.0, den = 0.0
        for i in actual.indices {
            let d = Double(actual[i]) - Double(expected[i])
            num += d * d
            den += Double(expected[i]) * Double(expected[i])
            maxAbs = max(maxAbs, abs(d))
        }
        relativeL2 = (num / max(den, 1e-30)).squareRoot()
    }

    var description: String { String(format: "max abs %.2e, relative L2 %.2e", maxAbs, relativeL2) }
}

/// Expects `actual` to equal `expected` within `tolerance` in max abs and in relative L2, printing both.
@discardableResult
func expectClose(_ actual: Tensor, _ expected: Tensor, _ label: String, tolerance: Double = 1e-4,
                 sourceLocation: SourceLocation = #_sourceLocation) -> Difference? {
    #expect(actual.shape == expected.shape, "\(label): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return nil }
    let difference = Difference(actual.contiguous().scalars, expected.contiguous().scalars)
    print("[minilm] \(label): \(difference)")
    #expect(difference.maxAbs <= tolerance && difference.relativeL2 <= tolerance,
            "\(label): \(difference), tolerance \(tolerance)", sourceLocation: sourceLocation)
    return difference
}

/// Rows `rows` of `tensor`'s item `item` (`[B, N, D]` → `[rows.count, D]`).
func rows(_ tensor: Tensor, item: Int, _ rows: [Int]) -> Tensor {
    let slice = tensor.selecting(axis: 0, index: item)
    return Tensor.concatenate(rows.map { slice.narrowed(axis: 0, start: $0, length: 1) }, axis: 0)
}

/// Dot product of rows `i` and `j` of a `[B, D]` tensor (their cosine when both are unit length).
func dot(_ pooled: Tensor, _ i: Int, _ j: Int) -> Double {
    let d = pooled.shape[1], x = pooled.contiguous().scalars
    return (0 ..< d).reduce(0.0) { $0 + Double(x[i * d + $1]) * Double(x[j * d + $1]) }
}

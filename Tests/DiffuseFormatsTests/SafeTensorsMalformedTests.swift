import DiffuseFormats
import Foundation
import Testing

/// The name of a `SafeTensorsError` case, matching the manifest written by
/// tools/make_format_fixtures.py.
private func caseName(_ error: SafeTensorsError) -> String {
    switch error {
    case .io: return "io"
    case .fileTooShort: return "fileTooShort"
    case .headerTooLarge: return "headerTooLarge"
    case .headerPastEndOfFile: return "headerPastEndOfFile"
    case .headerNotUTF8: return "headerNotUTF8"
    case .invalidHeaderJSON: return "invalidHeaderJSON"
    case .headerNotObject: return "headerNotObject"
    case .duplicateTensorName: return "duplicateTensorName"
    case .entryNotObject: return "entryNotObject"
    case .missingField: return "missingField"
    case .wrongFieldType: return "wrongFieldType"
    case .unknownDType: return "unknownDType"
    case .invalidShape: return "invalidShape"
    case .invalidDataOffsets: return "invalidDataOffsets"
    case .reversedDataOffsets: return "reversedDataOffsets"
    case .shapeSizeMismatch: return "shapeSizeMismatch"
    case .overlappingTensors: return "overlappingTensors"
    case .dataTruncated: return "dataTruncated"
    case .dataOffsetsOutOfRange: return "dataOffsetsOutOfRange"
    case .invalidMetadata: return "invalidMetadata"
    case .tensorNotFound: return "tensorNotFound"
    case .elementCountMismatch: return "elementCountMismatch"
    case .invalidEntry: return "invalidEntry"
    }
}

@Suite struct SafeTensorsMalformedTests {
    static let directory = Fixtures.url("safetensors-malformed")

    static func manifest() throws -> [String: String] {
        try #require(try Fixtures.json("safetensors-malformed", "manifest.json") as? [String: String])
    }

    @Test func corpusCoversTheRequiredCases() throws {
        let manifest = try Self.manifest()
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path)
            .filter { $0.hasSuffix(".safetensors") }
        #expect(Set(files) == Set(manifest.keys), "every fixture is listed in manifest.json and vice versa")
        let required = ["fileTooShort", "headerPastEndOfFile", "headerTooLarge", "invalidHeaderJSON", "headerNotObject",
                        "unknownDType", "invalidShape", "shapeSizeMismatch", "dataOffsetsOutOfRange",
                        "overlappingTensors", "reversedDataOffsets", "invalidMetadata", "dataTruncated",
                        "headerNotUTF8", "missingField", "wrongFieldType", "entryNotObject", "duplicateTensorName",
                        "invalidDataOffsets"]
        #expect(Set(required).isSubset(of: Set(manifest.values)))
    }

    @Test func eachMalformedFileGivesItsError() throws {
        for (file, expectedCase) in try Self.manifest().sorted(by: { $0.key < $1.key }) {
            let url = Self.directory.appendingPathComponent(file)
            do {
                _ = try SafeTensorsFile(url: url)
                Issue.record("\(file) was accepted, expected \(expectedCase)")
            } catch let error as SafeTensorsError {
                #expect(caseName(error) == expectedCase, "\(file): \(error)")
                #expect(error.file == url.path)
                #expect(error.description.contains(file), "description must name the file: \(error)")
                #expect(!error.description.contains("\n"), "one line: \(error)")
            } catch {
                Issue.record("\(file): unexpected error \(error)")
            }
            // The in-memory parser reports the same case.
            let data = try Data(contentsOf: url)
            let memoryError = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(data: data, name: file) }
            #expect(memoryError.map(caseName) == expectedCase, "\(file) in memory")
        }
    }

    @Test func errorsNameTheTensor() throws {
        func error(_ file: String) throws -> SafeTensorsError {
            let url = Self.directory.appendingPathComponent(file)
            let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(url: url) }
            return try #require(error)
        }
        #expect(try error("unknown_dtype.safetensors")
            == .unknownDType(file: Self.directory.appendingPathComponent("unknown_dtype.safetensors").path,
                             tensor: "w", dtype: "F8_E4M3"))
        let mismatch = try error("shape_size_mismatch.safetensors")
        #expect(mismatch.description.contains("'w'"))
        guard case .shapeSizeMismatch(_, "w", 12, 8) = mismatch else { Issue.record("\(mismatch)"); return }
        guard case .overlappingTensors(_, "a", "b") = try error("overlapping.safetensors") else {
            Issue.record("overlap names"); return
        }
        guard case .dataOffsetsOutOfRange(_, "b", 1008, 16) = try error("out_of_range.safetensors") else {
            Issue.record("out of range details"); return
        }
        guard case .dataTruncated(_, 16, 11) = try error("data_truncated.safetensors") else {
            Issue.record("truncation details"); return
        }
        guard case .missingField(_, "w", "data_offsets") = try error("missing_offsets.safetensors") else {
            Issue.record("missing field details"); return
        }
        guard case .reversedDataOffsets(_, "w", 8, 0) = try error("offsets_reversed.safetensors") else {
            Issue.record("reversed details"); return
        }
    }

    @Test func missingFileIsAnIOError() {
        let url = Self.directory.appendingPathComponent("does-not-exist.safetensors")
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(url: url) }
        guard case .io? = error else { Issue.record("expected .io, got \(String(describing: error))"); return }
        #expect(error?.description.contains("does-not-exist.safetensors") == true)
    }

    @Test func gapsBetweenTensorsAreAccepted() throws {
        // Lenient by design: bytes no tensor refers to are allowed.
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        var bytes = [UInt8]()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
        bytes += Array(header.utf8)
        bytes += [0xFF, 0xFF, 0xFF, 0xFF]
        withUnsafeBytes(of: Float(2.5).bitPattern.littleEndian) { bytes += $0 }
        let file = try SafeTensorsFile(data: Data(bytes), name: "gap")
        #expect(try file.floats("a") == [2.5])
    }
}

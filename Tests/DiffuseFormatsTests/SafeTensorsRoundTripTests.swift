import DiffuseFormats
import Foundation
import Testing

@Suite struct SafeTensorsRoundTripTests {
    /// Values that exercise rounding: ordinary, tiny (F16 subnormal / underflow), huge (F16
    /// overflow), signed zero, infinities.
    static let values: [Float] = [
        0, -0.0, 1, -1, 0.1, 1.0 / 3.0, 3.14159265, -2.5e-3, 1e-5, 6e-8, 1e-9, 65504, 65520, 1e5,
        3.0e38, -.infinity, .infinity, 1.00048828125, 1.000732421875, 255.875, -1234.5678,
    ]

    @Test func writeThenReadRoundTrip() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("model.safetensors")
            var rng = SeededGenerator(seed: 7)
            let big = (0..<(3 * 5 * 7)).map { _ in Float.random(in: -4...4, using: &rng) }
            let int32s: [Int32] = [-7, 0, 1 << 30]
            let entries: [SafeTensorsWriter.Entry] = [
                .init(name: "z.f32", shape: [Self.values.count], floats: Self.values),
                .init(name: "a.f16", shape: [Self.values.count], floats: Self.values, format: .float16),
                .init(name: "m.bf16", shape: [Self.values.count], floats: Self.values, format: .bfloat16),
                .init(name: "big", shape: [3, 5, 7], floats: big),
                .init(name: "odd.f16", shape: [3], floats: [1, 2, 3], format: .float16),
                .init(name: "scalar", shape: [], floats: [42.5]),
                .init(name: "empty", shape: [0], floats: []),
                .init(name: "empty2d", shape: [4, 0], floats: [], format: .bfloat16),
                .init(name: "ints", dtype: .int32, shape: [3], bytes: int32s.withUnsafeBytes { [UInt8]($0) }),
                .init(name: "flags", dtype: .bool, shape: [2], data: Data([0, 1])),
            ]
            let metadata = ["format": "pt", "note": "quotes \" and \\ and\nnewline, café 猫"]
            try SafeTensorsWriter.write(entries, metadata: metadata, to: url)

            // No temporary file is left behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["model.safetensors"])

            let file = try SafeTensorsFile(url: url)
            #expect(file.tensorNames == entries.map(\.name).sorted())
            #expect(file.metadata == metadata)
            #expect(file.dataStart % 8 == 0)

            // F32: exact.
            let f32 = try file.floats("z.f32")
            #expect(f32.map(\.bitPattern) == Self.values.map(\.bitPattern))
            #expect(try file.floats("big") == big)
            // F16: rounded to nearest even, as Swift's Float16 does.
            let f16 = try file.floats("a.f16")
            #expect(f16.map(\.bitPattern) == Self.values.map { Float(Float16($0)).bitPattern })
            #expect(f16[12] == .infinity)  // 65520 rounds up to infinity
            #expect(f16[10] == 0)          // 1e-9 underflows
            #expect(f16[9] == 0x1p-24)     // 6e-8 -> smallest subnormal
            #expect(try file.floats("odd.f16") == [1, 2, 3])
            // BF16: top 16 bits, rounded to nearest even.
            let bf16 = try file.floats("m.bf16")
            #expect(bf16[4] == Float(bitPattern: 0x3DCD_0000))  // 0.1 = 0x3DCCCCCD rounds up
            #expect(bf16[17] == 1.0)                            // 1.00048828125 = 1 + 2^-11: rounds down
            #expect(bf16.map(\.bitPattern) == Self.values.map { UInt32(HalfConversion.bfloat16Bits(from: $0)) << 16 })

            #expect(try file.floats("scalar") == [42.5])
            #expect(try file.info("scalar").shape == [])
            #expect(try file.info("scalar").elementCount == 1)
            #expect(try file.floats("empty") == [])
            #expect(try file.info("empty2d").shape == [4, 0])
            #expect(try file.info("empty2d").dtype == .bfloat16)
            #expect(try file.floats("ints") == [-7, 0, Float(1 << 30)])
            #expect(try file.floats("flags") == [0, 1])
            #expect(try file.withRawBytes("ints") { [UInt8]($0) } == int32s.withUnsafeBytes { [UInt8]($0) })

            // Every tensor starts at a multiple of its element size.
            for info in file.allInfo {
                #expect((file.dataStart + info.dataOffsets.lowerBound) % info.dtype.byteSize == 0, "\(info.name)")
                #expect(info.byteCount == info.elementCount * info.dtype.byteSize)
            }
            // The data buffer is exactly the tensors, with no gaps.
            let total = file.allInfo.map(\.byteCount).reduce(0, +)
            let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int
            #expect(size == file.dataStart + total)
        }
    }

    @Test func headerIsPaddedWithSpacesToMultipleOf8() throws {
        let data = try SafeTensorsWriter.serialize([.init(name: "x", shape: [1], floats: [1])], metadata: ["k": "v"])
        let length = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(length % 8 == 0)
        let header = data.subdata(in: 8..<(8 + Int(length)))
        let text = try #require(String(data: header, encoding: .utf8))
        #expect(text.hasPrefix("{"))
        #expect(text.trimmingCharacters(in: CharacterSet(charactersIn: " ")).hasSuffix("}"))
        // Standard JSON: Foundation can read it.
        let object = try #require(try JSONSerialization.jsonObject(with: header) as? [String: Any])
        #expect((object["__metadata__"] as? [String: String]) == ["k": "v"])
        // The in-memory parser agrees with the file parser.
        let file = try SafeTensorsFile(data: data, name: "memory.safetensors")
        #expect(try file.floats("x") == [1])
    }

    @Test func overwritingReplacesTheFileAtomically() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("w.safetensors")
            try SafeTensorsWriter.write([.init(name: "a", shape: [2], floats: [1, 2])], to: url)
            let first = try SafeTensorsFile(url: url)  // keeps the old mapping alive
            try SafeTensorsWriter.write([.init(name: "b", shape: [1], floats: [3])], to: url)
            #expect(try first.floats("a") == [1, 2])    // the old inode is untouched
            #expect(try SafeTensorsFile(url: url).tensorNames == ["b"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["w.safetensors"])
        }
    }

    @Test func failedWriteLeavesNoFile() throws {
        try withTemporaryDirectory { (dir: URL) throws -> Void in
            let url = dir.appendingPathComponent("bad.safetensors")
            #expect(throws: SafeTensorsError.self) {
                try SafeTensorsWriter.write([.init(name: "a", shape: [3], floats: [1, 2])], to: url)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
            let missingDir = dir.appendingPathComponent("no/such/dir/x.safetensors")
            let error = #expect(throws: SafeTensorsError.self) {
                try SafeTensorsWriter.write([.init(name: "a", shape: [1], floats: [1])], to: missingDir)
            }
            #expect(error?.description.contains("x.safetensors") == true)
        }
    }

    @Test func writerRejectsInvalidEntries() {
        func writerError(_ entries: [SafeTensorsWriter.Entry]) -> SafeTensorsError? {
            do {
                _ = try SafeTensorsWriter.serialize(entries, name: "out.safetensors")
                return nil
            } catch {
                return error as? SafeTensorsError
            }
        }
        let a = SafeTensorsWriter.Entry(name: "a", shape: [1], floats: [1])
        #expect(writerError([a, a]) == .duplicateTensorName(file: "out.safetensors", tensor: "a"))
        guard case .invalidEntry(_, "__metadata__", _)? = writerError([.init(name: "__metadata__", shape: [1], floats: [1])]) else {
            Issue.record("reserved name accepted"); return
        }
        guard case .invalidEntry(_, "b", _)? = writerError([.init(name: "b", shape: [2, 2], floats: [1, 2, 3])]) else {
            Issue.record("wrong element count accepted"); return
        }
        guard case .invalidEntry(_, "c", _)? = writerError([.init(name: "c", dtype: .float32, shape: [-1], bytes: [])]) else {
            Issue.record("negative dimension accepted"); return
        }
        guard case .invalidEntry(_, "d", _)? = writerError([.init(name: "d", dtype: .int64, shape: [1 << 40, 1 << 40], bytes: [])]) else {
            Issue.record("overflowing shape accepted"); return
        }
    }

    @Test func accessorErrorsNameFileAndTensor() throws {
        let data = try SafeTensorsWriter.serialize([.init(name: "w", shape: [2, 2], floats: [1, 2, 3, 4])])
        let file = try SafeTensorsFile(data: data, name: "unet.safetensors")
        var buffer = [Float](repeating: 0, count: 3)
        let countError = #expect(throws: SafeTensorsError.self) {
            try buffer.withUnsafeMutableBufferPointer { try file.copyFloats("w", into: $0.baseAddress!, count: 3) }
        }
        #expect(countError == .elementCountMismatch(file: "unet.safetensors", tensor: "w", expected: 4, requested: 3))
        #expect(countError?.description.contains("unet.safetensors") == true)
        let missing = #expect(throws: SafeTensorsError.self) { try file.floats("nope") }
        #expect(missing == .tensorNotFound(file: "unet.safetensors", tensor: "nope"))
        #expect(missing?.description.contains("'nope'") == true)
        #expect(file.contains("w") && !file.contains("nope"))
    }

    /// The file written by tools/make_format_fixtures.py with Python's struct/json: every dtype,
    /// unaligned tensors, a scalar and an empty tensor.
    @Test func readsPythonWrittenFile() throws {
        let file = try SafeTensorsFile(url: Fixtures.url("safetensors-valid", "python_written.safetensors"))
        let expected = try #require(try Fixtures.json("safetensors-valid", "python_written.json") as? [String: Any])
        #expect(file.metadata == (expected["metadata"] as? [String: String]))
        let tensors = try #require(expected["tensors"] as? [String: [String: Any]])
        #expect(file.tensorNames == tensors.keys.sorted())
        #expect(Set(file.allInfo.map(\.dtype)) == Set(SafeTensorsDType.allCases))
        for (name, spec) in tensors {
            let info = try file.info(name)
            #expect(info.dtype.rawValue == spec["dtype"] as? String, "\(name)")
            #expect(info.shape == spec["shape"] as? [Int], "\(name)")
            let bits = try #require(spec["float_bits"] as? [Int])
            #expect(try file.floats(name).map { Int($0.bitPattern) } == bits, "\(name)")
        }
    }

    /// Every truncation and many random corruptions of a valid file must either load or throw a
    /// SafeTensorsError — never crash or read out of bounds.
    @Test func corruptedInputsNeverCrash() throws {
        let entries: [SafeTensorsWriter.Entry] = [
            .init(name: "a", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]),
            .init(name: "b", shape: [3], floats: [1, 2, 3], format: .float16),
            .init(name: "c", shape: [], floats: [9], format: .bfloat16),
        ]
        let good = [UInt8](try SafeTensorsWriter.serialize(entries, metadata: ["k": "v"]))
        for length in 0..<good.count {
            #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(data: Data(good[0..<length]), name: "cut") }
        }
        var rng = SeededGenerator(seed: 42)
        var loaded = 0
        for _ in 0..<3000 {
            var bytes = good
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[i] = UInt8.random(in: 0...255, using: &rng)
            }
            do {
                let file = try SafeTensorsFile(data: Data(bytes), name: "fuzz")
                for name in file.tensorNames { _ = try file.floats(name) }
                loaded += 1
            } catch is SafeTensorsError {
            } catch {
                Issue.record("unexpected error type: \(error)")
            }
        }
        #expect(loaded > 0)  // flips in the data buffer still load
    }
}

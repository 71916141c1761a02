import DiffuseFormats
import DiffuseTensor
import Testing

@Suite struct Float16WideningTests {
    /// Every one of the 65,536 float16 bit patterns widens to the bits `HalfConversion` gives
    /// (exact values; NaNs quiet with their payload), at every offset of the vector loop's tail.
    @Test func everyBitPatternMatchesHalfConversion() {
        let count = 1 << 16
        let bits = (0 ..< count).map { UInt16($0) }
        var expected = [Float](repeating: 0, count: count)
        HalfConversion.float16ToFloat(bits, &expected, count)
        for offset in [0, 1, 7, 31] {
            var widened = [Float](repeating: -1, count: count - offset)
            bits.withUnsafeBufferPointer { b in
                widened.withUnsafeMutableBufferPointer { w in
                    Float16Widening.widen(b.baseAddress! + offset, into: w.baseAddress!, count: count - offset)
                }
            }
            let mismatches = (0 ..< count - offset).filter { widened[$0].bitPattern != expected[$0 + offset].bitPattern }
            #expect(mismatches.isEmpty, "offset \(offset): \(mismatches.count) patterns differ, first 0x\(String(offset + (mismatches.first ?? 0), radix: 16))")
        }
    }
}

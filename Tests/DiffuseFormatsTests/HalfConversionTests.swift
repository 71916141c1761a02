import DiffuseFormats
import Foundation
import Testing

/// Reference float -> bfloat16, round to nearest even, computed with exact Double arithmetic
/// (independent of the library's bit trick). Overflow behaves as if the exponent were unbounded.
private func referenceBFloat16(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    let sign = UInt16(bits >> 16) & 0x8000
    let magnitude = bits & 0x7FFF_FFFF
    if magnitude > 0x7F80_0000 { return sign | 0x7FC0 | UInt16((magnitude >> 16) & 0x7F) }  // NaN, quiet
    let lower = magnitude & 0xFFFF_0000
    if lower == magnitude { return sign | UInt16(lower >> 16) }
    let upper = lower + 0x1_0000
    let xv = Double(Float(bitPattern: magnitude))
    let lv = Double(Float(bitPattern: lower))
    let uv = upper == 0x7F80_0000 ? 0x1p128 : Double(Float(bitPattern: upper))
    let chosen: UInt32
    if xv - lv < uv - xv { chosen = lower } else if xv - lv > uv - xv { chosen = upper } else {
        chosen = (lower >> 16) & 1 == 0 ? lower : upper
    }
    return sign | UInt16(chosen >> 16)
}

@Suite struct HalfConversionTests {
    @Test func float16ToFloatMatchesSwiftFloat16ForAll65536Patterns() {
        var mismatches = 0
        for h in 0...UInt16.max {
            let ours = HalfConversion.float(fromFloat16Bits: h)
            let reference = Float(Float16(bitPattern: h))
            if reference.isNaN {
                // NaN: sign and payload kept, quiet bit set.
                let expected = UInt32(h & 0x8000) << 16 | 0x7FC0_0000 | UInt32(h & 0x03FF) << 13
                if ours.bitPattern != expected { mismatches += 1 }
            } else if ours.bitPattern != reference.bitPattern {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
    }

    @Test func float16BulkConversionMatchesScalar() {
        let all = (0...UInt16.max).map { $0 }
        var out = [Float](repeating: 0, count: all.count)
        all.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                HalfConversion.float16ToFloat(src.baseAddress!, dst.baseAddress!, all.count)
            }
        }
        #expect(zip(all, out).allSatisfy { HalfConversion.float(fromFloat16Bits: $0).bitPattern == $1.bitPattern })
        // And back: every non-NaN pattern survives float16 -> float -> float16 exactly.
        var back = [UInt16](repeating: 0, count: all.count)
        out.withUnsafeBufferPointer { src in
            back.withUnsafeMutableBufferPointer { dst in
                HalfConversion.floatToFloat16(src.baseAddress!, dst.baseAddress!, all.count)
            }
        }
        let nonNaN = all.indices.filter { !Float16(bitPattern: all[$0]).isNaN }
        #expect(nonNaN.allSatisfy { back[$0] == all[$0] })
        #expect(all.indices.filter { Float16(bitPattern: all[$0]).isNaN }.allSatisfy {
            Float16(bitPattern: back[$0]).isNaN && back[$0] & 0x8000 == all[$0] & 0x8000
        })
    }

    @Test func floatToFloat16MatchesSwiftFloat16() {
        var checked = 0, mismatches = 0
        func check(_ x: Float) {
            checked += 1
            let ours = HalfConversion.float16Bits(from: x)
            let reference = Float16(x)
            if x.isNaN {
                if !Float16(bitPattern: ours).isNaN { mismatches += 1 }
            } else if ours != reference.bitPattern {
                mismatches += 1
            }
        }
        // A sweep over the whole float32 range (every 997th bit pattern).
        var bits: UInt32 = 0
        while true {
            check(Float(bitPattern: bits))
            let (next, overflow) = bits.addingReportingOverflow(997)
            if overflow { break }
            bits = next
        }
        // Exact ties and their neighbours between every pair of adjacent float16 values, which is
        // where round-to-nearest-even matters (this covers subnormals and the overflow threshold).
        for h in UInt16(0)..<0x7C00 {
            let low = Double(Float(Float16(bitPattern: h)))
            let high = h == 0x7BFF ? 65536.0 : Double(Float(Float16(bitPattern: h + 1)))
            let mid = Float((low + high) / 2)
            for x in [mid, mid.nextDown, mid.nextUp] { check(x); check(-x) }
        }
        for x: Float in [0, -0, .infinity, -.infinity, .nan, 65504, 65519.99, 65520, 1e-8, 2.98e-8, .leastNonzeroMagnitude] {
            check(x)
        }
        #expect(checked > 4_000_000)
        #expect(mismatches == 0)
    }

    @Test func specificFloat16Roundings() {
        #expect(HalfConversion.float16Bits(from: 1.0) == 0x3C00)
        #expect(HalfConversion.float16Bits(from: 65520) == 0x7C00)           // ties to even -> inf
        #expect(HalfConversion.float16Bits(from: 65519.996) == 0x7BFF)       // max finite
        #expect(HalfConversion.float16Bits(from: 0x1p-24) == 0x0001)         // smallest subnormal
        #expect(HalfConversion.float16Bits(from: 0x1p-25) == 0x0000)         // tie -> even (zero)
        #expect(HalfConversion.float16Bits(from: 0x1.8p-24) == 0x0002)       // tie -> even (2)
        #expect(HalfConversion.float16Bits(from: -0.0) == 0x8000)
        #expect(HalfConversion.float16Bits(from: .nan) & 0x7E00 == 0x7E00)
        #expect(HalfConversion.float(fromFloat16Bits: 0x0001) == 0x1p-24)
        #expect(HalfConversion.float(fromFloat16Bits: 0xFC00) == -.infinity)
    }

    @Test func bfloat16ConversionsAreExactAndRoundToNearestEven() {
        var mismatches = 0
        for b in 0...UInt16.max {
            let f = HalfConversion.float(fromBFloat16Bits: b)
            if f.bitPattern != UInt32(b) << 16 { mismatches += 1 }
            if !f.isNaN && HalfConversion.bfloat16Bits(from: f) != b { mismatches += 1 }
            if f.isNaN && !Float(bitPattern: UInt32(HalfConversion.bfloat16Bits(from: f)) << 16).isNaN { mismatches += 1 }
            // Ties and neighbours between b and the next pattern.
            let tie = UInt32(b) << 16 | 0x8000
            for bits in [tie, tie - 1, tie + 1] {
                let x = Float(bitPattern: bits)
                if x.isNaN { continue }
                if HalfConversion.bfloat16Bits(from: x) != referenceBFloat16(x) { mismatches += 1 }
            }
        }
        var bits: UInt32 = 12345
        while bits < 0xFFF0_0000 {
            let x = Float(bitPattern: bits)
            if !x.isNaN && HalfConversion.bfloat16Bits(from: x) != referenceBFloat16(x) { mismatches += 1 }
            bits &+= 1009
        }
        #expect(mismatches == 0)
        #expect(HalfConversion.bfloat16Bits(from: 1.0) == 0x3F80)
        #expect(HalfConversion.bfloat16Bits(from: Float.greatestFiniteMagnitude) == 0x7F80)  // rounds to inf
        #expect(HalfConversion.bfloat16Bits(from: [1.0, -2.0]) == [0x3F80, 0xC000])
        #expect(HalfConversion.float16Bits(from: [1.0, -2.0]) == [0x3C00, 0xC000])
    }
}

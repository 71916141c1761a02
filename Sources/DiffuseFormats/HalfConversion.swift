/// Bulk conversions between IEEE 754 binary16 ("F16"), bfloat16 ("BF16") and `Float` (binary32),
/// working on raw bit patterns (`UInt16`) so they apply directly to tensor storage.
///
/// The conversions are branch-free integer/float arithmetic (no table, no `Float16` type), so
/// they give the same bits on every CPU and auto-vectorise (SSE2 on baseline x86-64, AVX2 when
/// inlined into a module compiled with `-target-cpu haswell`; the functions are `@inlinable` for
/// that reason).
///
/// Semantics:
/// - F16 → Float and BF16 → Float are exact. A NaN keeps its sign and payload and is made quiet
///   (like the x86 F16C `vcvtph2ps` instruction).
/// - Float → F16 and Float → BF16 round to nearest, ties to even. Values too large for the format
///   become ±infinity, values too small become subnormals or ±0, and a NaN stays NaN (sign and the
///   top payload bits kept, quiet bit set — again like `vcvtps2ph`). Subnormal F16 results are
///   rounded correctly (not flushed to zero).
public enum HalfConversion {
    // MARK: Scalars

    /// Converts one binary16 bit pattern to `Float` exactly.
    @inlinable @inline(__always)
    public static func float(fromFloat16Bits h: UInt16) -> Float {
        let magnitude = UInt32(h & 0x7FFF) << 13          // exponent+mantissa aligned to binary32
        let exponent = magnitude & 0x0F80_0000            // the 5 exponent bits, in place
        var bits = magnitude &+ 0x3800_0000               // rebias exponent: + (127 - 15) << 23
        // Inf/NaN: exponent all ones -> push to 255 and set the quiet bit for NaNs.
        let isInfNaN = exponent == 0x0F80_0000
        let infNaNBits = (bits &+ 0x3800_0000) | (magnitude & 0x007F_E000 != 0 ? 0x0040_0000 : 0)
        // Zero/subnormal: exponent 0 -> renormalise with one float subtraction (exact).
        let isSubnormal = exponent == 0
        let subnormal = Float(bitPattern: bits &+ 0x0080_0000) - Float(bitPattern: 0x3880_0000)
        bits = isInfNaN ? infNaNBits : (isSubnormal ? subnormal.bitPattern : bits)
        return Float(bitPattern: bits | (UInt32(h & 0x8000) << 16))
    }

    /// Converts a `Float` to the nearest binary16 bit pattern (ties to even).
    @inlinable @inline(__always)
    public static func float16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        // NaN: keep the top 10 payload bits, force quiet. Inf and overflow (>= 65520) -> Inf.
        let nanBits = UInt16(truncatingIfNeeded: 0x7E00 | ((magnitude >> 13) & 0x03FF))
        let isNaN = magnitude > 0x7F80_0000
        let overflow = magnitude >= 0x4780_0000            // >= 65536 -> Inf (65520..<65536 rounds below)
        // Subnormal results (|x| < 2^-14): add a magic number so the FPU rounds the 10 mantissa bits
        // into place (ties to even), then subtract the magic's bit pattern.
        let isSubnormal = magnitude < 0x3880_0000
        let denormMagic = Float(bitPattern: 0x3F00_0000)   // 0.5 = 2^-1, ulp = 2^-24
        let subnormalBits = UInt16(truncatingIfNeeded:
            (Float(bitPattern: magnitude) + denormMagic).bitPattern &- 0x3F00_0000)
        // Normal results: rebias the exponent and round ties to even on bit 13.
        let mantissaOdd = (magnitude >> 13) & 1
        let normalBits = UInt16(truncatingIfNeeded:
            (magnitude &+ 0xC800_0FFF &+ mantissaOdd) >> 13) // 0xC8000000 = (15 - 127) << 23
        let result = isNaN ? nanBits : (overflow ? 0x7C00 : (isSubnormal ? subnormalBits : normalBits))
        return result | sign
    }

    /// Converts one bfloat16 bit pattern to `Float` exactly (NaNs are returned as stored).
    @inlinable @inline(__always)
    public static func float(fromBFloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Converts a `Float` to the nearest bfloat16 bit pattern (ties to even; NaN stays NaN, made
    /// quiet).
    @inlinable @inline(__always)
    public static func bfloat16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let isNaN = bits & 0x7FFF_FFFF > 0x7F80_0000
        let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
        return UInt16(truncatingIfNeeded: isNaN ? (bits >> 16) | 0x0040 : rounded)
    }

    // MARK: Buffers

    /// Converts `n` binary16 values at `src` to `Float` at `dst`. Buffers must not overlap.
    @inlinable
    public static func float16ToFloat(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<max(n, 0) { dst[i] = float(fromFloat16Bits: src[i]) }
    }

    /// Converts `n` floats at `src` to binary16 at `dst` (round to nearest even). No overlap.
    @inlinable
    public static func floatToFloat16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, _ n: Int) {
        for i in 0..<max(n, 0) { dst[i] = float16Bits(from: src[i]) }
    }

    /// Converts `n` bfloat16 values at `src` to `Float` at `dst`. Buffers must not overlap.
    @inlinable
    public static func bfloat16ToFloat(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<max(n, 0) { dst[i] = float(fromBFloat16Bits: src[i]) }
    }

    /// Converts `n` floats at `src` to bfloat16 at `dst` (round to nearest even). No overlap.
    @inlinable
    public static func floatToBFloat16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, _ n: Int) {
        for i in 0..<max(n, 0) { dst[i] = bfloat16Bits(from: src[i]) }
    }

    // MARK: Arrays

    /// `[Float]` → binary16 bit patterns.
    public static func float16Bits(from values: [Float]) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: values.count) { buffer, count in
            values.withUnsafeBufferPointer { src in
                if let s = src.baseAddress, let d = buffer.baseAddress { floatToFloat16(s, d, values.count) }
            }
            count = values.count
        }
    }

    /// `[Float]` → bfloat16 bit patterns.
    public static func bfloat16Bits(from values: [Float]) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: values.count) { buffer, count in
            values.withUnsafeBufferPointer { src in
                if let s = src.baseAddress, let d = buffer.baseAddress { floatToBFloat16(s, d, values.count) }
            }
            count = values.count
        }
    }
}

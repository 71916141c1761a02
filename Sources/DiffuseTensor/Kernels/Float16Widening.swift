import CDiffuseKernels

/// Float16 → float32 conversion of weights kept as half floats, on every core with the CPU's
/// F16C instruction (exact; the same values as `HalfConversion.float16ToFloat`).
public enum Float16Widening {
    /// Writes the `count` float16 values at `source` to `destination` as float32.
    public static func widen(_ source: UnsafePointer<UInt16>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forRange(count, minPerThread: 1 << 18) { r in
            dk_float16_to_float(source + r.lowerBound, destination + r.lowerBound, Int64(r.count))
        }
    }
}

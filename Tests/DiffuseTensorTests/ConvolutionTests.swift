import DiffuseTensor
import Foundation
import Testing

@Suite struct ConvolutionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var input: [Int], cout: Int, kernel: (Int, Int), stride: (Int, Int), padding: Padding2D, dilation: (Int, Int) = (1, 1), groups = 1
        var testDescription: String { "\(input)→\(cout) k\(kernel) s\(stride) p\(padding) d\(dilation) g\(groups)" }
    }

    static let cases: [Case] = [
        Case(input: [1, 3, 11, 13], cout: 5, kernel: (3, 3), stride: (1, 1), padding: Padding2D(1)),
        Case(input: [2, 7, 9, 9], cout: 4, kernel: (1, 1), stride: (1, 1), padding: Padding2D(0)),
        Case(input: [2, 6, 17, 15], cout: 9, kernel: (3, 3), stride: (2, 2), padding: Padding2D(1)),
        Case(input: [1, 4, 16, 16], cout: 4, kernel: (3, 3), stride: (2, 2), padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1)),
        Case(input: [1, 5, 10, 7], cout: 3, kernel: (5, 3), stride: (1, 2), padding: Padding2D(vertical: 2, horizontal: 0)),
        Case(input: [1, 4, 12, 12], cout: 6, kernel: (3, 3), stride: (1, 1), padding: Padding2D(2), dilation: (2, 2)),
        Case(input: [2, 6, 8, 9], cout: 4, kernel: (3, 3), stride: (1, 1), padding: Padding2D(1), groups: 2),
        Case(input: [1, 3, 67, 61], cout: 2, kernel: (3, 3), stride: (1, 1), padding: Padding2D(1)),
        Case(input: [1, 2, 5, 5], cout: 3, kernel: (1, 1), stride: (2, 2), padding: Padding2D(0)),
    ]

    /// Both paths: oneDNN's primitives (the default) and the im2col + GEMM kernels.
    @Test(arguments: cases, [true, false])
    func conv2dMatchesNaive(_ c: Case, oneDNN: Bool) {
        OneDNNConvolution.$enabled.withValue(oneDNN) { check(c, backend: oneDNN ? "oneDNN" : "im2col") }
    }

    /// Run band by band over its output rows (reorder buffers limited to 1 KB here, so most shapes
    /// run one or two rows at a time), a convolution gives the same result; shapes with a vertical
    /// stride or dilation run whole.
    @Test(arguments: cases)
    func bandedConvolutionMatchesNaive(_ c: Case) throws {
        try OneDNNConvolution.$bandBytes.withValue(1024) {
            let g = ConvGeometry(kernel: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation)
            let weight = [c.cout, c.input[1] / c.groups, c.kernel.0, c.kernel.1]
            let bands = try #require(OneDNNConvolution.bandCount(input: c.input, weight: weight, geometry: g, groups: c.groups, hasBias: true))
            let banded = c.stride.0 == 1 && c.dilation.0 == 1
            #expect(banded ? bands > 1 : bands == 1, "\(bands) bands for \(c.testDescription)")
            check(c, backend: "oneDNN in \(bands) bands")
        }
    }

    /// oneDNN takes every shape the models use (so the test above really covers it), and names
    /// the implementation it picked.
    @Test(arguments: cases)
    func oneDNNTakesTheShape(_ c: Case) throws {
        let g = ConvGeometry(kernel: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation)
        let weight = [c.cout, c.input[1] / c.groups, c.kernel.0, c.kernel.1]
        for kind in [OneDNNConvolution.Kind.forward, .backwardData, .backwardWeights] {
            let name = try #require(OneDNNConvolution.implementation(kind, input: c.input, weight: weight, geometry: g,
                                                                     groups: c.groups, hasBias: kind != .backwardData),
                                    "oneDNN declined \(kind) \(c.testDescription)")
            #expect(!name.isEmpty)
        }
    }

    /// A primitive built on one thread and run on another (a server's generations, Swift tasks
    /// that resume elsewhere) computes the same convolution. oneDNN's default scratchpad is per
    /// thread: before the shim gave every primitive its scratchpad, the second thread's run wrote
    /// through a NULL pointer (this grouped shape's implementation needs a scratchpad).
    @Test func primitiveBuiltOnOneThreadRunsOnAnother() throws {
        let c = Case(input: [2, 6, 7, 10], cout: 4, kernel: (3, 3), stride: (1, 1), padding: Padding2D(1), groups: 2)
        var rng = TestRandom(seed: 2024)
        let x = rng.tensor(c.input), w = rng.tensor([c.cout, c.input[1] / c.groups, 3, 3], scale: 0.3)
        let (ref, shape) = Naive.conv2d(doubles(x), c.input, doubles(w), w.shape, bias: nil, stride: c.stride,
                                        pad: (1, 1, 1, 1), dilation: c.dilation, groups: c.groups)
        for _ in 0 ..< 2 {
            let y = OnFreshThread.run { x.conv2d(weight: w, padding: c.padding, groups: c.groups) }
            expectClose(y, ref, shape: shape, "oneDNN on a fresh thread " + c.testDescription)
        }
    }

    func check(_ c: Case, backend: String) {
        var rng = TestRandom(seed: UInt64(c.input.reduce(0, +) * 31 + c.cout))
        let x = rng.tensor(c.input)
        let w = rng.tensor([c.cout, c.input[1] / c.groups, c.kernel.0, c.kernel.1], scale: 0.3)
        let b = rng.tensor([c.cout])
        let (ref, shape) = Naive.conv2d(doubles(x), c.input, doubles(w), w.shape, bias: doubles(b), stride: c.stride,
                                        pad: (c.padding.top, c.padding.bottom, c.padding.left, c.padding.right),
                                        dilation: c.dilation, groups: c.groups)
        let y = x.conv2d(weight: w, bias: b, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
        expectClose(y, ref, shape: shape, backend + " " + c.testDescription)
        // A non-contiguous input gives the same result.
        let xs = rng.strided(c.input)
        let (ref2, _) = Naive.conv2d(doubles(xs), c.input, doubles(w), w.shape, bias: nil, stride: c.stride,
                                     pad: (c.padding.top, c.padding.bottom, c.padding.left, c.padding.right),
                                     dilation: c.dilation, groups: c.groups)
        expectClose(xs.conv2d(weight: w, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups), ref2,
                    backend + " strided input " + c.testDescription)
    }
}

/// Runs `body` on a new thread (which has never run a oneDNN primitive) and waits for it.
enum OnFreshThread {
    private final class Box<T>: @unchecked Sendable { var value: T?; let done = DispatchSemaphore(value: 0) }

    static func run<T>(_ body: @escaping () -> T) -> T {
        let box = Box<T>()
        let thread = Thread {
            box.value = body()
            box.done.signal()
        }
        thread.start()
        box.done.wait()
        return box.value!
    }
}

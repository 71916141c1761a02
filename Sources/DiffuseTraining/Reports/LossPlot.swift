import DiffuseFormats
import Foundation

/// The training loss curve as a PNG: each step's loss as a light dot, a moving average as a dark
/// line, a logarithmic loss axis with labelled powers of ten (and 2×, 5×), and the step count
/// labelled along the bottom.
public enum LossPlot {
    public static func image(losses: [Float], width: Int = 720, height: Int = 360) throws -> PNGImage {
        var canvas = Canvas(width: width, height: height)
        let left = 44, right = width - 12, top = 12, bottom = height - 22
        canvas.rectangle(x0: left, y0: top, x1: right, y1: bottom, color: (120, 120, 120))
        let finite = losses.filter { $0.isFinite && $0 > 0 }
        guard !finite.isEmpty else { return try canvas.image() }
        var low = Double(finite.min()!), high = Double(finite.max()!)
        if high / low < 10 { let mid = (low * high).squareRoot(); low = mid / 3.2; high = mid * 3.2 }
        let (logLow, logHigh) = (Foundation.log10(low), Foundation.log10(high))
        func yOf(_ v: Double) -> Int {
            let f = (Foundation.log10(Swift.max(v, low)) - logLow) / (logHigh - logLow)
            return bottom - Int((f * Double(bottom - top)).rounded())
        }
        let n = losses.count
        func xOf(_ i: Int) -> Int { left + (n <= 1 ? 0 : Int((Double(i) / Double(n - 1) * Double(right - left)).rounded())) }
        // Grid lines and labels at 1, 2, 5 × 10^k.
        for exponent in Int(Foundation.floor(logLow)) ... Int(Foundation.ceil(logHigh)) {
            for mantissa in [1.0, 2.0, 5.0] {
                let v = mantissa * Foundation.pow(10, Double(exponent))
                guard v >= low && v <= high else { continue }
                let y = yOf(v)
                canvas.line(x0: left, y0: y, x1: right, y1: y, color: mantissa == 1 ? (200, 200, 200) : (232, 232, 232))
                canvas.text(Self.label(v), x: 2, y: y - 3, color: (60, 60, 60))
            }
        }
        for i in 0 ..< n where losses[i].isFinite && losses[i] > 0 {
            canvas.point(x: xOf(i), y: yOf(Double(losses[i])), color: (150, 190, 235))
        }
        // Moving average over a window of ~1/50 of the run (at least 1).
        let window = Swift.max(1, n / 50)
        var sum = 0.0, previous: (Int, Int)? = nil
        var queue: [Double] = []
        for i in 0 ..< n {
            let v = losses[i].isFinite ? Double(losses[i]) : (queue.last ?? low)
            queue.append(v)
            sum += v
            if queue.count > window { sum -= queue.removeFirst() }
            let point = (xOf(i), yOf(sum / Double(queue.count)))
            if let p = previous { canvas.line(x0: p.0, y0: p.1, x1: point.0, y1: point.1, color: (20, 70, 160)) }
            previous = point
        }
        canvas.text("0", x: left - 2, y: bottom + 6, color: (60, 60, 60))
        let steps = "\(n) STEPS"
        canvas.text(steps, x: right - 4 * steps.count, y: bottom + 6, color: (60, 60, 60))
        return try canvas.image()
    }

    /// Writes `image(losses:)` to `url` atomically.
    public static func write(losses: [Float], to url: URL) throws {
        try image(losses: losses).write(to: url)
    }

    static func label(_ v: Double) -> String {
        if v >= 1 { return String(format: "%.0f", v) }
        let digits = Swift.max(0, -Int(Foundation.floor(Foundation.log10(v))))
        return String(format: "%.\(digits)f", v)
    }
}

/// A tiny RGB raster with lines, points and a 3×5 pixel font (digits, '.', and capital letters used in labels).
struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.0; pixels[i + 1] = c.1; pixels[i + 2] = c.2
    }

    mutating func point(x: Int, y: Int, color: (UInt8, UInt8, UInt8)) {
        set(x, y, color); set(x + 1, y, color); set(x, y + 1, color); set(x + 1, y + 1, color)
    }

    /// Bresenham's line.
    mutating func line(x0: Int, y0: Int, x1: Int, y1: Int, color: (UInt8, UInt8, UInt8)) {
        var (x, y) = (x0, y0)
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        while true {
            set(x, y, color)
            if x == x1 && y == y1 { break }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x += sx }
            if e2 <= dx { error += dx; y += sy }
        }
    }

    mutating func rectangle(x0: Int, y0: Int, x1: Int, y1: Int, color: (UInt8, UInt8, UInt8)) {
        line(x0: x0, y0: y0, x1: x1, y1: y0, color: color)
        line(x0: x1, y0: y0, x1: x1, y1: y1, color: color)
        line(x0: x1, y0: y1, x1: x0, y1: y1, color: color)
        line(x0: x0, y0: y1, x1: x0, y1: y0, color: color)
    }

    /// 3×5 glyphs as 5 rows of 3 bits.
    static let glyphs: [Character: [UInt8]] = [
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7], "4": [5, 5, 7, 1, 1],
        "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 1, 1, 1], "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7],
        ".": [0, 0, 0, 0, 2], " ": [0, 0, 0, 0, 0], "S": [7, 4, 7, 1, 7], "T": [7, 2, 2, 2, 2], "E": [7, 4, 7, 4, 7],
        "P": [7, 5, 7, 4, 4],
    ]

    mutating func text(_ string: String, x: Int, y: Int, color: (UInt8, UInt8, UInt8)) {
        for (i, ch) in string.enumerated() {
            guard let rows = Self.glyphs[ch] else { continue }
            for (r, bits) in rows.enumerated() {
                for b in 0 ..< 3 where bits & (4 >> b) != 0 { set(x + i * 4 + b, y + r, color) }
            }
        }
    }

    func image() throws -> PNGImage { try PNGImage(width: width, height: height, channels: 3, pixels: pixels) }
}

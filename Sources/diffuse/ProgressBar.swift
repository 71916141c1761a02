import Foundation

/// A one-line progress bar on standard error when it is a terminal (silent otherwise):
/// `generating [#######-----] 7/20  1.52 s/it  ETA 19.8 s`.
final class ProgressBar {
    private let label: String
    private let enabled = isatty(STDERR_FILENO) == 1

    init(label: String) { self.label = label }

    func update(step: Int, total: Int, elapsed: Double) {
        guard enabled else { return }
        let width = 24
        let filled = total > 0 ? width * step / total : 0
        let perStep = step > 0 ? elapsed / Double(step) : 0
        let eta = perStep * Double(total - step)
        let line = String(format: "\r%@ [%@%@] %d/%d  %.2f s/it  ETA %.1f s ", label,
                          String(repeating: "#", count: filled), String(repeating: "-", count: width - filled),
                          step, total, perStep, eta)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}

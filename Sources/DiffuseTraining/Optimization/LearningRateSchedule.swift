import Foundation

/// The learning rate of each optimizer step: a linear warm-up from 0, then constant or cosine
/// decay to 0 — diffusers' `get_constant_schedule_with_warmup` and `get_cosine_schedule_with_warmup`
/// (half a cosine period). Update number `step` (0-based) uses `rate(at: step)`, as torch's
/// `LambdaLR` stepped after each `optimizer.step()` does.
public struct LearningRateSchedule: Sendable, Equatable {
    public enum Shape: String, Sendable, CaseIterable { case constant, cosine }

    public var peak: Double
    public var warmupSteps: Int
    public var shape: Shape
    /// Total optimizer steps (the cosine reaches 0 there).
    public var totalSteps: Int

    public init(peak: Double, warmupSteps: Int = 0, shape: Shape = .constant, totalSteps: Int) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.shape = shape
        self.totalSteps = totalSteps
    }

    public func rate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step) / Double(Swift.max(1, warmupSteps)) }
        switch shape {
        case .constant:
            return peak
        case .cosine:
            let progress = Double(step - warmupSteps) / Double(Swift.max(1, totalSteps - warmupSteps))
            return peak * Swift.max(0, 0.5 * (1 + Foundation.cos(Double.pi * 2 * 0.5 * progress)))
        }
    }
}

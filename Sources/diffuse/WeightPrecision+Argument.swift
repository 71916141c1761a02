import ArgumentParser
import DiffuseNN

/// `--weights float32|float16`.
extension WeightPrecision: ExpressibleByArgument {}

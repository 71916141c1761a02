import ArgumentParser
import DiffuseTraining

extension DiffusionObjective.Prediction: ExpressibleByArgument {}

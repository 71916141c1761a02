import DiffuseTensor

/// The clean sample x₀ and the noise ε a model output implies at a timestep with cumulative
/// alpha `alphaProd`, for `prediction_type` "epsilon", "sample" or "v_prediction" (anything else is
/// taken as v), in diffusers' DDIM / TCD order of operations.
func predictedOriginalAndNoise(_ modelOutput: Tensor, sample: Tensor, alphaProd: Float,
                               predictionType: String) -> (original: Tensor, noise: Tensor) {
    let betaProd = 1 - alphaProd
    switch predictionType {
    case "epsilon":
        return ((sample - modelOutput * betaProd.squareRoot()).divided(by: alphaProd.squareRoot()), modelOutput)
    case "sample":
        return (modelOutput, (sample - modelOutput * alphaProd.squareRoot()).divided(by: betaProd.squareRoot()))
    default:  // v_prediction
        return (sample * alphaProd.squareRoot() - modelOutput * betaProd.squareRoot(),
                modelOutput * alphaProd.squareRoot() + sample * betaProd.squareRoot())
    }
}

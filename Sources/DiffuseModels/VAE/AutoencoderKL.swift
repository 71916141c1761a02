import DiffuseNN
import DiffuseTensor

/// The VAE's mid block (`UNetMidBlock2D`): resnet, attention, resnet.
public final class VAEMidBlock: Module {
    public let resnets: [ResnetBlock2D]
    public let attentions: [SpatialSelfAttention]

    init(channels: Int, groups: Int, attention: Bool) {
        resnets = (0 ..< 2).map { _ in ResnetBlock2D(inChannels: channels, outChannels: channels, temb: nil, groups: groups, epsilon: 1e-6) }
        attentions = attention ? [SpatialSelfAttention(channels: channels, groups: groups, epsilon: 1e-6)] : []
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = resnets[0](x, temb: nil)
        if let attention = attentions.first { h = attention(h) }
        return resnets[1](h, temb: nil)
    }
}

/// `DownEncoderBlock2D` / `UpDecoderBlock2D`: resnets, then an optional resampler.
public final class VAEBlock: Module {
    public let resnets: [ResnetBlock2D]
    public let downsamplers: [Downsample2D]
    public let upsamplers: [Upsample2D]

    init(resnets: [ResnetBlock2D], downsampler: Downsample2D? = nil, upsampler: Upsample2D? = nil) {
        self.resnets = resnets
        downsamplers = downsampler.map { [$0] } ?? []
        upsamplers = upsampler.map { [$0] } ?? []
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for resnet in resnets { h = resnet(h, temb: nil) }
        for d in downsamplers { h = d(h) }
        for u in upsamplers { h = u(h) }
        return h
    }
}

/// The VAE encoder: image `[B, 3, H, W]` in [-1, 1] → moments `[B, 2·latent, H/f, W/f]`.
public final class VAEEncoder: Module {
    public let convIn: Conv2d
    public let downBlocks: [VAEBlock]
    public let midBlock: VAEMidBlock
    public let convNormOut: GroupNorm
    public let convOut: Conv2d

    init(_ config: AutoencoderKLConfig) {
        let ch = config.blockOutChannels, groups = config.normNumGroups
        convIn = Conv2d(config.inChannels, ch[0], kernel: 3, padding: 1)
        var blocks: [VAEBlock] = []
        var output = ch[0]
        for i in ch.indices {
            let input = output
            output = ch[i]
            let resnets = (0 ..< config.layersPerBlock).map { j in
                ResnetBlock2D(inChannels: j == 0 ? input : output, outChannels: output, temb: nil, groups: groups, epsilon: 1e-6)
            }
            blocks.append(VAEBlock(resnets: resnets, downsampler: i == ch.count - 1 ? nil : Downsample2D(channels: output, padding: 0)))
        }
        downBlocks = blocks
        midBlock = VAEMidBlock(channels: ch[ch.count - 1], groups: groups, attention: config.midBlockAddAttention)
        convNormOut = GroupNorm(groups: groups, channels: ch[ch.count - 1], epsilon: 1e-6)
        convOut = Conv2d(ch[ch.count - 1], 2 * config.latentChannels, kernel: 3, padding: 1)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = convIn(x)
        for block in downBlocks { h = block(h) }
        h = midBlock(h)
        return convOut(convNormOut(h, silu: true))
    }
}

/// The VAE decoder: latents `[B, latent, h, w]` → image `[B, 3, h·f, w·f]` in about [-1, 1].
public final class VAEDecoder: Module {
    public let convIn: Conv2d
    public let midBlock: VAEMidBlock
    public let upBlocks: [VAEBlock]
    public let convNormOut: GroupNorm
    public let convOut: Conv2d

    init(_ config: AutoencoderKLConfig) {
        let ch = config.blockOutChannels, groups = config.normNumGroups
        let reversed = Array(ch.reversed())
        convIn = Conv2d(config.latentChannels, reversed[0], kernel: 3, padding: 1)
        midBlock = VAEMidBlock(channels: reversed[0], groups: groups, attention: config.midBlockAddAttention)
        var blocks: [VAEBlock] = []
        var output = reversed[0]
        for i in reversed.indices {
            let input = output
            output = reversed[i]
            let resnets = (0 ..< config.layersPerBlock + 1).map { j in
                ResnetBlock2D(inChannels: j == 0 ? input : output, outChannels: output, temb: nil, groups: groups, epsilon: 1e-6)
            }
            blocks.append(VAEBlock(resnets: resnets, upsampler: i == reversed.count - 1 ? nil : Upsample2D(channels: output)))
        }
        upBlocks = blocks
        convNormOut = GroupNorm(groups: groups, channels: ch[0], epsilon: 1e-6)
        convOut = Conv2d(ch[0], config.outChannels, kernel: 3, padding: 1)
    }

    func callAsFunction(_ z: Tensor) -> Tensor {
        var h = midBlock(convIn(z))
        for block in upBlocks {
            // Each block works at twice the previous one's resolution: the buffers the pool kept
            // for the last block's sizes would only sit under this block's larger ones (the peak
            // of a generation), so they go back to the system first.
            BufferPool.trim()
            h = block(h)
        }
        return convOut(convNormOut(h, silu: true))
    }
}

/// The latent distribution the encoder predicts: a diagonal Gaussian.
public struct DiagonalGaussian {
    /// `[B, latent, h, w]`.
    public let mean: Tensor
    /// log σ², clamped to [-30, 20] as diffusers does.
    public let logVariance: Tensor

    public var standardDeviation: Tensor { (logVariance * 0.5).exp() }

    /// mean + σ · noise, with `noise` drawn by the caller (`[B, latent, h, w]`, standard normal).
    public func sample(noise: Tensor) -> Tensor { mean + standardDeviation * noise }
}

/// diffusers' `AutoencoderKL`: encodes images to latents and decodes them back.
public final class AutoencoderKL: Module {
    public let config: AutoencoderKLConfig
    public let encoder: VAEEncoder
    public let decoder: VAEDecoder
    public let quantConv: Conv2d?
    public let postQuantConv: Conv2d?
    /// How `encode` and `decode` compute their 3×3 convolutions. Winograd by default (every VAE
    /// convolution has enough positions to repay its weight transform; the speed-up, with oneDNN's
    /// and Diffuse's own kernels, is in BENCHMARKS.md); its rounding differs from diffusers' a little
    /// more than direct sums do. `.direct` for the bit-closest result.
    public var convolutionAlgorithm: OneDNNConvolution.Algorithm = .winograd

    public init(config: AutoencoderKLConfig) {
        self.config = config
        encoder = VAEEncoder(config)
        decoder = VAEDecoder(config)
        let l = config.latentChannels
        quantConv = config.useQuantConv ? Conv2d(2 * l, 2 * l, kernel: 1) : nil
        postQuantConv = config.usePostQuantConv ? Conv2d(l, l, kernel: 1) : nil
    }

    /// Image `[B, 3, H, W]` in [-1, 1] → the latent distribution (unscaled: multiply samples by `scalingFactor`).
    public func encode(_ image: Tensor) -> DiagonalGaussian {
        OneDNNConvolution.$algorithm.withValue(convolutionAlgorithm) {
            var moments = encoder(image)
            if let quantConv { moments = quantConv(moments) }
            let halves = moments.chunked(2, axis: 1)
            return DiagonalGaussian(mean: halves[0].contiguous(), logVariance: halves[1].clamped(-30, 20))
        }
    }

    /// Latents `[B, latent, h, w]` (already divided by `scalingFactor`) → image `[B, 3, H, W]`, about [-1, 1].
    public func decode(_ latents: Tensor) -> Tensor {
        OneDNNConvolution.$algorithm.withValue(convolutionAlgorithm) {
            var z = latents
            if let postQuantConv { z = postQuantConv(z) }
            return decoder(z)
        }
    }
}

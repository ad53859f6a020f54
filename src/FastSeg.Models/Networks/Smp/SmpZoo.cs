using FastSeg.Models.Encoders;
using FastSeg.Models.Zoo;

namespace FastSeg.Models.Networks;

/// <summary>
/// segmentation_models.pytorch networks named the way zh320's trainer names them (<c>model = 'smp'</c> with an
/// <c>encoder</c> and a <c>decoder</c>, its <c>smp_wrapper.get_smp_model</c>): decoder "deeplabv3", "deeplabv3p",
/// "fpn", "linknet", "manet", "pan", "pspnet", "unet" or "unetpp" is the zoo network "smp/&lt;decoder&gt;", and the
/// encoder is that network's encoder (resnet18 ... resnet152 here).
/// </summary>
/// <remarks>
/// Each network's default encoder is SMP's default, resnet34, and its <see cref="ModelInfo.ReferenceParameters"/> is
/// SMP's count for it (19 classes). zh320 publishes figures only for ResNet-18 encoders (parameters 15.90 M
/// DeepLabV3, 12.33 M DeepLabV3+, 13.05 M FPN, 11.66 M LinkNet, 21.68 M MA-Net, 11.37 M PAN, 11.41 M PSPNet,
/// 14.33 M U-Net, 15.97 M U-Net++; the zoo's ResNet-18 counts round to these), so
/// <see cref="ModelInfo.ReferenceMIoU"/> and <see cref="ModelInfo.ReferenceFps"/> stay unset: they would describe
/// another encoder than the default.
/// </remarks>
public static class SmpZoo
{
    /// <summary>The zoo's prefix for SMP networks.</summary>
    public const string Prefix = "smp/";

    /// <summary>zh320's decoder names, in its order.</summary>
    public static readonly IReadOnlyList<string> Decoders =
        new[] { "deeplabv3", "deeplabv3p", "fpn", "linknet", "manet", "pan", "pspnet", "unet", "unetpp" };

    /// <summary>The encoders every SMP network here accepts (SMP's torchvision ResNets).</summary>
    public static IReadOnlyList<string> Encoders => SmpResNetEncoder.Names;

    /// <summary>The zoo name of zh320's SMP <paramref name="decoder"/> (e.g. "deeplabv3p" → "smp/deeplabv3p").</summary>
    /// <exception cref="ArgumentException">The decoder is not one of <see cref="Decoders"/>.</exception>
    public static string ModelName(string decoder)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        var key = decoder.ToLowerInvariant();
        if (!Decoders.Contains(key))
            throw new ArgumentException($"unsupported decoder '{decoder}' for an SMP model; valid decoders: {string.Join(", ", Decoders)}", nameof(decoder));
        return Prefix + key;
    }

    /// <summary>
    /// Builds zh320's <c>get_smp_model(encoder, decoder, encoder_weights, num_class)</c> with fresh weights (load
    /// torchvision ImageNet weights into <see cref="Blocks.SmpSegmentationModel.Encoder"/> for
    /// <c>encoder_weights='imagenet'</c>).
    /// </summary>
    /// <exception cref="ArgumentException">An unknown encoder or decoder; the message lists the valid ones.</exception>
    public static SegmentationModel Create(string encoder, string decoder, int numClasses = 19)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var name = ModelName(decoder);
        if (!Encoders.Contains(encoder.ToLowerInvariant()))
            throw new ArgumentException($"unsupported encoder '{encoder}' for an SMP model; valid encoders: {string.Join(", ", Encoders)}", nameof(encoder));
        return ModelZoo.Create(name, encoder, numClasses);
    }
}

namespace FastSeg.Data;

/// <summary>
/// The augmentation pipelines of the reference projects, written out with explicit parameters (including the defaults
/// those projects leave implicit).
/// </summary>
public static class Pipelines
{
    /// <summary>
    /// zh320/realtime-semantic-segmentation-pytorch's training pipeline (albumentations 1.3.0), hidden defaults made
    /// explicit: Scale(scale) → RandomScale(1 + randScale, p = 0.5) → PadIfNeeded(crop, reflect-101: the (114,114,114)
    /// and mask 0 values it passes are unused) → RandomCrop(crop) → ColorJitter(b, c, s, hue 0.2, p = 0.5) →
    /// HorizontalFlip(hFlip) → Normalize(ImageNet). The reference maps labelIds to trainIds after this pipeline; here the
    /// datasets map first, which gives the same labels since every step moves labels without mixing them.
    /// Defaults are MyConfig's (crop 768, randscale [-0.5, 1.0], jitter 0.5, flip 0.5). <paramref name="normalization"/>:
    /// the network's (its <c>ModelInfo.InputNormalization</c>); null for ImageNet's, as the reference.
    /// </summary>
    public static Compose Zh320Train(int cropHeight = 768, int cropWidth = 768, double scale = 1.0, double randScaleLow = -0.5,
        double randScaleHigh = 1.0, double brightness = 0.5, double contrast = 0.5, double saturation = 0.5, double hFlip = 0.5,
        Normalization? normalization = null) =>
        new(
            new Scale(scale),
            new RandomScale(1 + randScaleLow, 1 + randScaleHigh, probability: 0.5),
            new PadIfNeeded(cropHeight, cropWidth, BorderMode.Reflect101, new double[] { 114, 114, 114 }, maskValue: 0),
            new RandomCrop(cropHeight, cropWidth),
            new ColorJitter(brightness, contrast, saturation, hue: 0.2, probability: 0.5),
            new HorizontalFlip(hFlip),
            new Normalize(normalization ?? Normalization.ImageNet));

    /// <summary>zh320's validation pipeline: Scale(scale) → Normalize (the network's; null: ImageNet's).</summary>
    public static Compose Zh320Val(double scale = 1.0, Normalization? normalization = null) =>
        new(new Scale(scale), new Normalize(normalization ?? Normalization.ImageNet));

    /// <summary>
    /// lxtGH/Fast_Seg's Cityscapes training pipeline: random scale 0.7 + k/10 (k uniform in 0..14; CamVid: 0.5–2.0,
    /// pass <paramref name="scaleMin"/> 0.5 and <paramref name="scaleMax"/> 2.0) with OpenCV's rounded sizes → pad
    /// bottom/right to the crop (image with the mean, which is 0 after normalisation; mask 255) → random crop →
    /// horizontal flip (p 0.5) → normalisation (<paramref name="normalization"/>; the scripts' RGB mode uses ImageNet).
    /// </summary>
    public static Compose FastSegTrain(int cropHeight = 832, int cropWidth = 832, double scaleMin = 0.7, double scaleMax = 2.1,
        Normalization? normalization = null)
    {
        var norm = normalization ?? Normalization.ImageNet;
        var padValue = Enumerable.Range(0, 3).Select(c => norm.PixelMean(c)).ToArray();
        return new Compose(
            new RandomScale(scaleMin, scaleMax, probability: 1.0, step: 0.1, roundSize: true),
            new PadIfNeeded(cropHeight, cropWidth, BorderMode.Constant, padValue, maskValue: 255, PadPosition.TopLeft),
            new RandomCrop(cropHeight, cropWidth),
            new HorizontalFlip(0.5),
            new Normalize(norm.Mean.ToArray(), norm.Std.ToArray(), norm.MaxPixelValue));
    }

    /// <summary>
    /// The pipeline the data benchmark measures (benchmarks/FastSeg.Data.Benchmarks, tools/bench_data_pipeline.py):
    /// zh320's training pipeline at crop 1024 x 1024 with random scale 0.5–2.0, jitter 0.5 and flip 0.5.
    /// </summary>
    public static Compose Benchmark() => Zh320Train(1024, 1024);
}

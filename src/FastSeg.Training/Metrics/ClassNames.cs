namespace FastSeg.Training.Metrics;

/// <summary>Class names of the datasets the trainer knows, in train-id order.</summary>
public static class ClassNames
{
    /// <summary>The 19 Cityscapes evaluation classes (train ids 0–18).</summary>
    public static IReadOnlyList<string> Cityscapes { get; } = new[]
    {
        "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
        "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
    };
}

using FastSeg.Training.Metrics;

namespace FastSeg.Training;

/// <summary>What a progress report is about.</summary>
public enum ProgressKind
{
    /// <summary>One optimiser step finished.</summary>
    Iteration,
    /// <summary>A validation pass finished.</summary>
    Validation,
}

/// <summary>One progress report of the <see cref="Trainer"/>.</summary>
/// <param name="Kind">Iteration or validation.</param>
/// <param name="Epoch">Epoch (0-based).</param>
/// <param name="Iteration">Optimiser steps so far (counted over the whole run, resumes included).</param>
/// <param name="TotalIterations">Steps of the whole run.</param>
/// <param name="Loss">The step's total loss (iterations; NaN for validations).</param>
/// <param name="LearningRate">The learning rate used by the step.</param>
/// <param name="ImagesPerSecond">Training throughput of the step (images / wall time of the step, data wait included).</param>
/// <param name="Elapsed">Time since <see cref="Trainer.Run"/> started.</param>
/// <param name="LossParts">The loss's parts by name (loss = segmentation + aux/detail, then one per hook, loss_total).</param>
/// <param name="Report">The validation report (validations only).</param>
public sealed record TrainingProgress(
    ProgressKind Kind,
    int Epoch,
    long Iteration,
    long TotalIterations,
    double Loss,
    double LearningRate,
    double ImagesPerSecond,
    TimeSpan Elapsed,
    IReadOnlyDictionary<string, double> LossParts,
    SegmentationReport? Report = null)
{
    /// <summary>
    /// The validation mIoU in percent (54.3 for 54.3 %), as every report prints it and as the zoo's published figures
    /// are given; NaN for iterations. <see cref="SegmentationReport.MeanIoU"/> holds the same value as a fraction.
    /// </summary>
    public double MeanIoUPercent => Report is null ? double.NaN : 100 * Report.MeanIoU;
}

/// <summary>The outcome of <see cref="Trainer.Run"/>.</summary>
/// <param name="BestScore">The best validation mIoU as a fraction in [0, 1] (of the EMA weights, as the reference).</param>
/// <param name="LastReport">The last validation report, or null when none ran.</param>
/// <param name="Epochs">Epochs trained in this call.</param>
/// <param name="Iterations">Steps trained in this call.</param>
/// <param name="Elapsed">Wall time of this call.</param>
/// <param name="ImagesPerSecond">Training images per second in this call (validation time excluded).</param>
/// <param name="FirstLoss">Mean loss over this call's first epoch.</param>
/// <param name="LastLoss">Mean loss over this call's last epoch.</param>
/// <param name="Completed">Whether the run reached total_epoch (false when stopped early by untilEpoch).</param>
public sealed record TrainingResult(double BestScore, SegmentationReport? LastReport, int Epochs, long Iterations, TimeSpan Elapsed,
    double ImagesPerSecond, double FirstLoss, double LastLoss, bool Completed);

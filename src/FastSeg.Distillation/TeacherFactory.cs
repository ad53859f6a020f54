using FastSeg.Models;
using FastSeg.Models.Inference;
using FastSeg.Models.Zoo;
using FastSeg.Training;

namespace FastSeg.Distillation;

/// <summary>
/// Builds the frozen teacher of a distillation run from the trainer's teacher options, the zh320 way:
/// <c>teacher_model</c> (a zoo name, or <c>"smp"</c> with <c>teacher_decoder</c>), <c>teacher_encoder</c>,
/// <c>teacher_ckpt</c> (a trainer checkpoint or a bare state dict), with the student's <c>num_class</c>.
/// </summary>
public static class TeacherFactory
{
    /// <summary>Builds the teacher network, loads its weights and freezes it.</summary>
    /// <exception cref="TrainerOptionException">An unknown teacher network, decoder or encoder, or no checkpoint.</exception>
    /// <exception cref="FileNotFoundException">The checkpoint does not exist.</exception>
    /// <exception cref="CheckpointMismatchException">
    /// The checkpoint belongs to another architecture or class count (one line naming the file and the mismatch).
    /// </exception>
    public static TeacherModel Create(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.TeacherCheckpoint))
            throw new TrainerOptionException("teacher_ckpt", "kd_training needs the teacher's weights (a .pth file)");
        if (!File.Exists(options.TeacherCheckpoint))
            throw new FileNotFoundException($"teacher checkpoint '{options.TeacherCheckpoint}' does not exist", options.TeacherCheckpoint);
        var network = CreateNetwork(options);
        try
        {
            using (var weights = ModelCheckpoint.Read(options.TeacherCheckpoint)) weights.LoadInto(network);
            return new TeacherModel(network, autocastBFloat16: options.AmpTraining, ownsModule: true);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The distillation loss the options describe: <c>kd_loss_type</c> (kl_div or mse), <c>kd_temperature</c>,
    /// <c>kd_loss_coefficient</c>. With the teacher: <c>new DistillationHook(TeacherFactory.Create(o), TeacherFactory.CreateLoss(o))</c>.
    /// </summary>
    /// <exception cref="TrainerOptionException">An unknown kd_loss_type.</exception>
    public static DistillationLoss CreateLoss(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var type = options.KdLossType switch
        {
            "kl_div" => DistillationLossType.KlDiv,
            "mse" => DistillationLossType.Mse,
            _ => throw new TrainerOptionException("kd_loss_type", $"must be kl_div or mse, got '{options.KdLossType}'"),
        };
        return new DistillationLoss(type, options.KdTemperature, options.KdLossCoefficient);
    }

    /// <summary>The teacher network with fresh weights (for training a teacher, or to inspect it).</summary>
    /// <exception cref="TrainerOptionException">An unknown teacher network, decoder or encoder.</exception>
    public static SegmentationModel CreateNetwork(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string name;
        try
        {
            name = ModelZoo.ResolveName(options.TeacherModel, options.TeacherDecoder);
        }
        catch (ArgumentException e)
        {
            throw new TrainerOptionException("teacher_decoder", e.Message);
        }
        if (!ModelZoo.Names.Contains(name))
            throw new TrainerOptionException("teacher_model", $"'{options.TeacherModel}' is not a zoo network; valid names: smp, {string.Join(", ", ModelZoo.Names)}");
        try
        {
            return ModelZoo.Create(name, options.TeacherEncoder, options.NumClasses);
        }
        catch (ArgumentException e)
        {
            throw new TrainerOptionException("teacher_encoder", e.Message);
        }
    }
}

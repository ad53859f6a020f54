namespace FastSeg.Torch;

/// <summary>Kinds of device a tensor can live on (values equal libtorch's <c>c10::DeviceType</c>).</summary>
public enum DeviceType
{
    /// <summary>The host CPU.</summary>
    CPU = 0,
    /// <summary>An NVIDIA GPU.</summary>
    CUDA = 1,
}

public static partial class torch
{
    /// <summary>A device: a type and, for CUDA, an index (-1 means the current device).</summary>
    public sealed class Device : IEquatable<Device>
    {
        /// <summary>Creates a device of <paramref name="type"/> with <paramref name="index"/>.</summary>
        public Device(DeviceType type, int index = -1)
        {
            if (index < -1) throw new ArgumentOutOfRangeException(nameof(index), index, "device index must be -1 or more");
            this.type = type;
            this.index = type == DeviceType.CPU ? -1 : index;
        }

        /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
        public Device(string description)
        {
            ArgumentNullException.ThrowIfNull(description);
            var parts = description.Trim().ToLowerInvariant().Split(':');
            type = parts[0] switch
            {
                "cpu" => DeviceType.CPU,
                "cuda" => DeviceType.CUDA,
                _ => throw new ArgumentException($"unknown device '{description}': expected cpu, cuda or cuda:N", nameof(description)),
            };
            index = -1;
            if (parts.Length == 2 && type == DeviceType.CUDA && int.TryParse(parts[1], out var i) && i >= 0) index = i;
            else if (parts.Length != 1)
                throw new ArgumentException($"unknown device '{description}': expected cpu, cuda or cuda:N", nameof(description));
        }

        /// <summary>The device type.</summary>
        public DeviceType type { get; }

        /// <summary>The device index (-1 for the CPU and for the current CUDA device).</summary>
        public int index { get; }

        /// <summary>A device parsed from its description.</summary>
        public static implicit operator Device(string description) => new(description);

        /// <inheritdoc />
        public bool Equals(Device? other) => other is not null && type == other.type && index == other.index;

        /// <inheritdoc />
        public override bool Equals(object? obj) => obj is Device d && Equals(d);

        /// <inheritdoc />
        public override int GetHashCode() => HashCode.Combine(type, index);

        /// <inheritdoc />
        public override string ToString() => type == DeviceType.CPU ? "cpu" : index < 0 ? "cuda" : $"cuda:{index}";
    }

    /// <summary>The CPU device.</summary>
    public static readonly Device CPU = new(DeviceType.CPU);

    /// <summary>The current CUDA device.</summary>
    public static readonly Device CUDA = new(DeviceType.CUDA);

    /// <summary>Creates a device from its type and index.</summary>
    public static Device device(DeviceType type, int index = -1) => new(type, index);

    /// <summary>Creates a device from its description (<c>cpu</c>, <c>cuda:0</c>).</summary>
    public static Device device(string description) => new(description);
}

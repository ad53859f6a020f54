using FastSeg.Torch.Optim;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class optim
    {
        /// <summary>
        /// A group of parameters that share optimization options (PyTorch's param-group dict). Options are kept in
        /// insertion order under PyTorch's key names with PyTorch's value model: floats as <see cref="double"/>, ints as
        /// <see cref="long"/>, tuples such as <c>betas</c> as <c>object?[]</c>, None as null. Options the group does
        /// not set are filled from the optimizer's defaults when the group is added to an optimizer; schedulers add
        /// their own keys (<c>initial_lr</c>, <c>max_lr</c>, ...) as in PyTorch.
        /// </summary>
        /// <example>
        /// <code>
        /// var groups = new[]
        /// {
        ///     new optim.ParamGroup(backbone.parameters(), lr: 0.01),
        ///     new optim.ParamGroup(head.parameters(), lr: 0.1, weight_decay: 0) { ["momentum"] = 0.5 },
        /// };
        /// var sgd = optim.SGD(groups, lr: 0.01, momentum: 0.9, weight_decay: 1e-4);
        /// </code>
        /// </example>
        public sealed class ParamGroup
        {
            private readonly List<nn.Parameter> _parameters;
            private readonly OrderedDictionary<string, object?> _options = new();

            /// <summary>A group of <paramref name="parameters"/> with optional per-group learning rate and weight decay.</summary>
            public ParamGroup(IEnumerable<nn.Parameter> parameters, double? lr = null, double? weight_decay = null)
            {
                ArgumentNullException.ThrowIfNull(parameters);
                _parameters = parameters.ToList();
                if (_parameters.Any(p => p is null)) throw new ArgumentException("a parameter group contains a null parameter", nameof(parameters));
                if (lr is not null) _options["lr"] = lr.Value;
                if (weight_decay is not null) _options["weight_decay"] = weight_decay.Value;
            }

            /// <summary>A group of <paramref name="parameters"/> with options given by PyTorch key names.</summary>
            public ParamGroup(IEnumerable<nn.Parameter> parameters, IEnumerable<KeyValuePair<string, object?>> options) : this(parameters)
            {
                ArgumentNullException.ThrowIfNull(options);
                foreach (var (key, value) in options) this[key] = value;
            }

            /// <summary>The parameters of this group, in order.</summary>
            public IReadOnlyList<nn.Parameter> Parameters => _parameters;

            /// <summary>The learning rate (key <c>lr</c>).</summary>
            public double lr
            {
                get => GetDouble("lr");
                set => _options["lr"] = value;
            }

            /// <summary>The weight decay (key <c>weight_decay</c>).</summary>
            public double weight_decay
            {
                get => GetDouble("weight_decay");
                set => _options["weight_decay"] = value;
            }

            /// <summary>
            /// The option stored under <paramref name="key"/>; reading a missing key throws
            /// <see cref="KeyNotFoundException"/>. Setting adds or replaces it (the key <c>params</c> is reserved).
            /// </summary>
            public object? this[string key]
            {
                get
                {
                    if (_options.TryGetValue(key, out var value)) return value;
                    throw new KeyNotFoundException($"the parameter group has no option '{key}' (it has: {string.Join(", ", _options.Keys)})");
                }
                set
                {
                    ArgumentNullException.ThrowIfNull(key);
                    if (key == "params") throw new ArgumentException("'params' is not an option; the group's parameters are fixed at construction", nameof(key));
                    _options[key] = value;
                }
            }

            /// <summary>The option keys, in insertion order.</summary>
            public IEnumerable<string> Keys => _options.Keys;

            /// <summary>The options as (key, value) pairs, in insertion order.</summary>
            public IEnumerable<KeyValuePair<string, object?>> Options => _options;

            /// <summary>Whether the group has an option named <paramref name="key"/>.</summary>
            public bool ContainsKey(string key) => _options.ContainsKey(key);

            /// <summary>Reads an option if present.</summary>
            public bool TryGetValue(string key, out object? value) => _options.TryGetValue(key, out value);

            /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> unless it is already set (Python's <c>setdefault</c>).</summary>
            public object? SetDefault(string key, object? value)
            {
                if (_options.TryGetValue(key, out var existing)) return existing;
                this[key] = value;
                return value;
            }

            /// <summary>Removes an option; returns whether it was present.</summary>
            public bool Remove(string key) => _options.Remove(key);

            /// <summary>A numeric option as a double (ints are converted).</summary>
            public double GetDouble(string key) => OptionValues.ToDouble(this[key], $"option '{key}'");

            /// <summary>A bool option.</summary>
            public bool GetBool(string key) => OptionValues.ToBool(this[key], $"option '{key}'");

            /// <summary>A two-number tuple option such as <c>betas</c>.</summary>
            public (double, double) GetPair(string key) => OptionValues.ToPair(this[key], $"option '{key}'");

            /// <summary>Replaces every option with <paramref name="options"/> (used when loading a state dict).</summary>
            internal void ReplaceOptions(IEnumerable<KeyValuePair<string, object?>> options)
            {
                _options.Clear();
                foreach (var (key, value) in options)
                    if (key != "params") _options[key] = OptionValues.CopyContainers(value);
            }
        }
    }
}

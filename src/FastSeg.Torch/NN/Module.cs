using System.Reflection;

namespace FastSeg.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Gives a module field a state-dict name other than the field's own.</summary>
        [AttributeUsage(AttributeTargets.Field)]
        public sealed class ComponentNameAttribute : Attribute
        {
            /// <summary>The name used in state-dict keys.</summary>
            public string Name { get; set; } = "";
        }

        /// <summary>Keeps a Module, Parameter or Tensor field out of <see cref="Module.RegisterComponents"/>.</summary>
        [AttributeUsage(AttributeTargets.Field)]
        public sealed class IgnoreComponentAttribute : Attribute { }

        /// <summary>
        /// Base of all neural-network modules, after PyTorch's <c>nn.Module</c> and TorchSharp's. Submodules,
        /// parameters and buffers are kept in registration order under their names, so <see cref="state_dict"/>
        /// produces PyTorch's dotted keys in PyTorch's order: a module's own parameters, then its persistent buffers,
        /// then each child's entries in turn.
        /// </summary>
        public abstract class Module : IDisposable
        {
            private readonly List<KeyValuePair<string, Module?>> _modules = new();
            private readonly List<KeyValuePair<string, Parameter?>> _parameters = new();
            private readonly List<(string Name, Tensor? Tensor, bool Persistent)> _buffers = new();
            private bool _disposed;

            /// <summary>Creates a module whose type name is <paramref name="name"/>.</summary>
            protected Module(string name) => Name = name;

            /// <summary>The module's type name (e.g. "Conv2d").</summary>
            public string Name { get; }

            /// <summary>The module's type name.</summary>
            public string GetName() => Name;

            /// <summary>Whether the module is in training mode (affects dropout and batch norm).</summary>
            public bool training { get; private set; } = true;

            // ---- registration ------------------------------------------------------------------------------------

            /// <summary>
            /// Registers every field of type Module, Parameter or Tensor (a buffer), base-class fields first, each in
            /// declaration order, under the field's name (or its <see cref="ComponentNameAttribute"/>). Null fields are
            /// skipped, as PyTorch skips None. Call it at the end of a custom module's constructor.
            /// </summary>
            protected void RegisterComponents()
            {
                var chain = new List<Type>();
                for (var t = GetType(); t is not null && t != typeof(Module); t = t.BaseType) chain.Add(t);
                chain.Reverse();
                foreach (var type in chain)
                {
                    var fields = type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                        .OrderBy(f => f.MetadataToken);
                    foreach (var field in fields)
                    {
                        if (field.IsDefined(typeof(IgnoreComponentAttribute)) || field.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute)))
                            continue;
                        string name = field.GetCustomAttribute<ComponentNameAttribute>()?.Name is { Length: > 0 } n ? n : field.Name;
                        switch (field.GetValue(this))
                        {
                            case Module m: register_module(name, m); break;
                            case Parameter p: register_parameter(name, p); break;
                            case Tensor t: register_buffer(name, t); break;
                        }
                    }
                }
            }

            private static void CheckName(string name, string what)
            {
                if (string.IsNullOrEmpty(name) || name.Contains('.'))
                    throw new ArgumentException($"{what} name '{name}' must be non-empty and contain no '.'", nameof(name));
            }

            private bool NameTaken(string name, int kind) =>
                (kind != 0 && _modules.Any(e => e.Key == name)) ||
                (kind != 1 && _parameters.Any(e => e.Key == name)) ||
                (kind != 2 && _buffers.Any(e => e.Name == name));

            /// <summary>
            /// Registers (or, if the name exists, replaces in place, keeping its position) a submodule. A null module
            /// keeps the slot but contributes nothing, like PyTorch's None.
            /// </summary>
            public void register_module(string name, Module? module)
            {
                CheckName(name, "module");
                if (NameTaken(name, 0)) throw new ArgumentException($"'{name}' is already a parameter or buffer of {Name}", nameof(name));
                int i = _modules.FindIndex(e => e.Key == name);
                if (i >= 0) _modules[i] = new(name, module);
                else _modules.Add(new(name, module));
                if (module is not null && !training) module.train(false);
                SetField(name, module);
                if (i >= 0) OnSubmoduleReplaced(name, module);
            }

            /// <summary>
            /// Called when <see cref="register_module"/> replaces an existing submodule, so containers that keep their
            /// own list of children (Sequential) run the new one.
            /// </summary>
            protected virtual void OnSubmoduleReplaced(string name, Module? module) { }

            /// <summary>Registers (or replaces in place) a parameter; null keeps an empty slot (e.g. no bias).</summary>
            public void register_parameter(string name, Parameter? parameter)
            {
                CheckName(name, "parameter");
                if (NameTaken(name, 1)) throw new ArgumentException($"'{name}' is already a module or buffer of {Name}", nameof(name));
                int i = _parameters.FindIndex(e => e.Key == name);
                if (i >= 0) _parameters[i] = new(name, parameter);
                else _parameters.Add(new(name, parameter));
                SetField(name, parameter);
            }

            /// <summary>
            /// Registers (or replaces in place) a buffer: state that is not a parameter (running statistics).
            /// Non-persistent buffers move with <see cref="to(Device)"/> but are left out of <see cref="state_dict"/>.
            /// </summary>
            public void register_buffer(string name, Tensor? tensor, bool persistent = true)
            {
                CheckName(name, "buffer");
                if (NameTaken(name, 2)) throw new ArgumentException($"'{name}' is already a module or parameter of {Name}", nameof(name));
                tensor?.DetachFromDisposeScope();
                int i = _buffers.FindIndex(e => e.Name == name);
                if (i >= 0) _buffers[i] = (name, tensor, persistent);
                else _buffers.Add((name, tensor, persistent));
                SetField(name, tensor);
            }

            // Keeps a same-named field in step with a replaced registration, so forward() sees the new component.
            private void SetField(string name, object? value)
            {
                for (var t = GetType(); t is not null && t != typeof(Module); t = t.BaseType)
                {
                    var field = t.GetField(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly);
                    if (field is null || field.IsInitOnly) continue;
                    if (value is null || field.FieldType.IsInstanceOfType(value))
                    {
                        if (!ReferenceEquals(field.GetValue(this), value)) field.SetValue(this, value);
                    }
                    return;
                }
            }

            /// <summary>The submodule registered as <paramref name="name"/>, or null.</summary>
            public Module? get_submodule(string name)
            {
                Module? current = this;
                foreach (var part in name.Split('.'))
                {
                    current = current?._modules.FirstOrDefault(e => e.Key == part).Value;
                    if (current is null) return null;
                }
                return current;
            }

            // ---- enumeration -------------------------------------------------------------------------------------

            /// <summary>Direct submodules with their names, in registration order.</summary>
            public IEnumerable<(string name, Module module)> named_children()
            {
                foreach (var (name, m) in _modules)
                    if (m is not null) yield return (name, m);
            }

            /// <summary>Direct submodules.</summary>
            public IEnumerable<Module> children() => named_children().Select(c => c.module);

            /// <summary>This module (name "") and every descendant, pre-order, each once.</summary>
            public IEnumerable<(string name, Module module)> named_modules()
            {
                var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
                return NamedModules("", seen);
            }

            private IEnumerable<(string, Module)> NamedModules(string prefix, HashSet<Module> seen)
            {
                if (!seen.Add(this)) yield break;
                yield return (prefix, this);
                foreach (var (name, child) in named_children())
                    foreach (var item in child.NamedModules(prefix.Length == 0 ? name : prefix + "." + name, seen))
                        yield return item;
            }

            /// <summary>This module and every descendant.</summary>
            public IEnumerable<Module> modules() => named_modules().Select(m => m.module);

            /// <summary>Parameters with dotted names (recursively unless <paramref name="recurse"/> is false), each once.</summary>
            public IEnumerable<(string name, Parameter parameter)> named_parameters(bool recurse = true)
            {
                var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
                foreach (var (prefix, module) in recurse ? named_modules() : new[] { ("", this) })
                    foreach (var (name, p) in module._parameters)
                        if (p is not null && seen.Add(p)) yield return (Join(prefix, name), p);
            }

            /// <summary>All parameters.</summary>
            public IEnumerable<Parameter> parameters(bool recurse = true) => named_parameters(recurse).Select(p => p.parameter);

            /// <summary>Buffers with dotted names (persistent and not), each once.</summary>
            public IEnumerable<(string name, Tensor buffer)> named_buffers(bool recurse = true)
            {
                var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
                foreach (var (prefix, module) in recurse ? named_modules() : new[] { ("", this) })
                    foreach (var (name, b, _) in module._buffers)
                        if (b is not null && seen.Add(b)) yield return (Join(prefix, name), b);
            }

            /// <summary>All buffers.</summary>
            public IEnumerable<Tensor> buffers(bool recurse = true) => named_buffers(recurse).Select(b => b.buffer);

            private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

            // ---- state dict --------------------------------------------------------------------------------------

            /// <summary>
            /// Parameters and persistent buffers by dotted key, in PyTorch's order. The tensors are the module's own
            /// (shared, not copies); dispose the dictionary's tensors only if you cloned them.
            /// </summary>
            public Dictionary<string, Tensor> state_dict()
            {
                var result = new Dictionary<string, Tensor>();
                AddState(result, "");
                return result;
            }

            private void AddState(Dictionary<string, Tensor> into, string prefix)
            {
                foreach (var (name, p) in _parameters)
                    if (p is not null) into[prefix + name] = p;
                foreach (var (name, b, persistent) in _buffers)
                    if (b is not null && persistent) into[prefix + name] = b;
                foreach (var (name, child) in named_children())
                    child.AddState(into, prefix + name + ".");
            }

            /// <summary>
            /// Copies values from <paramref name="source"/> into this module's parameters and buffers (in place, under
            /// no_grad). Returns the keys this module has that the source lacks, and the source keys it does not use.
            /// With <paramref name="strict"/>, any missing key, unexpected key or shape mismatch throws one
            /// <see cref="StateDictMismatchException"/> that lists all of them; nothing is copied in that case.
            /// </summary>
            public (IList<string> missing_keys, IList<string> unexpected_keys) load_state_dict(
                IReadOnlyDictionary<string, Tensor> source, bool strict = true)
            {
                ArgumentNullException.ThrowIfNull(source);
                var own = state_dict();
                var missing = own.Keys.Where(k => !source.ContainsKey(k)).ToList();
                var unexpected = source.Keys.Where(k => !own.ContainsKey(k)).ToList();
                var mismatched = new List<string>();
                foreach (var (key, target) in own)
                {
                    if (!source.TryGetValue(key, out var value)) continue;
                    var a = target.shape;
                    var b = value.shape;
                    if (!a.SequenceEqual(b))
                        mismatched.Add($"{key}: checkpoint shape {Tensor.ShapeString(b)}, model shape {Tensor.ShapeString(a)}");
                }
                if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
                    throw new StateDictMismatchException(Name, missing, unexpected, mismatched);
                using (no_grad())
                {
                    foreach (var (key, target) in own)
                        if (source.TryGetValue(key, out var value)) target.copy_(value);
                }
                return (missing, unexpected);
            }

            // ---- modes and conversion ----------------------------------------------------------------------------

            /// <summary>Sets training mode on this module and every descendant.</summary>
            public virtual Module train(bool mode = true)
            {
                training = mode;
                foreach (var child in children()) child.train(mode);
                return this;
            }

            /// <summary>Sets evaluation mode (<c>train(false)</c>).</summary>
            public Module eval() => train(false);

            /// <summary>Moves parameters and buffers to <paramref name="device"/>, in place (the same Parameter objects).</summary>
            public Module to(Device device) => Convert(t => t.to(null, device));

            /// <summary>Converts floating-point parameters and buffers to <paramref name="type"/>, in place.</summary>
            public Module to(ScalarType type) => Convert(t => is_floating_point(t.dtype) ? t.to(type) : null);

            /// <summary>Moves and converts (floating-point tensors only for the dtype), in place.</summary>
            public Module to(Device device, ScalarType type) =>
                Convert(t => t.to(is_floating_point(t.dtype) ? type : null, device));

            private Module Convert(Func<Tensor, Tensor?> convert)
            {
                using (no_grad())
                {
                    foreach (var t in parameters().Cast<Tensor>().Concat(buffers()))
                    {
                        using var converted = convert(t);
                        if (converted is not null && !converted.is_same(t)) t.set_data(converted);
                    }
                }
                return this;
            }

            /// <summary>Clears (or zeroes) every parameter's gradient.</summary>
            public void zero_grad(bool set_to_none = true)
            {
                foreach (var p in parameters())
                {
                    if (set_to_none) { p.grad = null; continue; }
                    using var g = p.grad;
                    g?.zero_();
                }
            }

            /// <summary>Calls <paramref name="fn"/> on every descendant and then on this module (post-order, as PyTorch).</summary>
            public Module apply(Action<Module> fn)
            {
                foreach (var child in children()) child.apply(fn);
                fn(this);
                return this;
            }

            /// <summary>Disposes parameters, buffers and submodules.</summary>
            public void Dispose()
            {
                Dispose(true);
                GC.SuppressFinalize(this);
            }

            /// <summary>Releases the native tensors this module owns.</summary>
            protected virtual void Dispose(bool disposing)
            {
                if (_disposed || !disposing) return;
                _disposed = true;
                foreach (var (_, child) in named_children()) child.Dispose();
                foreach (var (_, p) in _parameters) p?.Dispose();
                foreach (var (_, b, _) in _buffers) b?.Dispose();
            }

            /// <summary>The type name and direct children, indented, similar to PyTorch's repr.</summary>
            public override string ToString()
            {
                var children = named_children().ToList();
                if (children.Count == 0) return Name + "(" + ExtraRepr() + ")";
                var lines = children.Select(c => "  (" + c.name + "): " + c.module.ToString().Replace("\n", "\n  "));
                return Name + "(\n" + string.Join("\n", lines) + "\n)";
            }

            /// <summary>Runs <paramref name="forward"/> inside this module's frame of the active recorder's module stack.</summary>
            private protected TResult RecordedCall<TResult>(Func<TResult> forward)
            {
                Tracing.OpRecorder.EnterModule(this);
                try { return forward(); }
                finally { Tracing.OpRecorder.ExitModule(); }
            }

            /// <summary>Extra text inside the module's parentheses (hyper-parameters).</summary>
            protected virtual string ExtraRepr() => "";
        }

        /// <summary>A module with one input.</summary>
        public abstract class Module<T, TResult> : Module
        {
            /// <summary>Creates a module whose type name is <paramref name="name"/>.</summary>
            protected Module(string name) : base(name) { }

            /// <summary>The computation.</summary>
            public abstract TResult forward(T input);

            /// <summary>
            /// Set by inference transforms (<see cref="utils.fold_batch_norms"/>) to run something else than
            /// <see cref="forward"/> when the module is called, for modules held in read-only fields that cannot be
            /// swapped for another module.
            /// </summary>
            internal Func<T, TResult>? CallReplacement { get; set; }

            /// <summary>Runs <see cref="forward"/> (TorchSharp's call entry point).</summary>
            public TResult call(T input)
            {
                if (CallReplacement is { } replacement) return replacement(input);
                if (Tracing.OpRecorder.IsActive) return RecordedCall(() => forward(input));
                if (Interop.OpTrace.Current is not { } trace) return forward(input);
                trace.EnterModule(this);
                try
                {
                    return forward(input);
                }
                finally
                {
                    trace.ExitModule();
                }
            }
        }

        /// <summary>A module with two inputs.</summary>
        public abstract class Module<T1, T2, TResult> : Module
        {
            /// <summary>Creates a module whose type name is <paramref name="name"/>.</summary>
            protected Module(string name) : base(name) { }

            /// <summary>The computation.</summary>
            public abstract TResult forward(T1 input1, T2 input2);

            /// <summary>Set by inference transforms to run something else than <see cref="forward"/> when the module is called.</summary>
            internal Func<T1, T2, TResult>? CallReplacement { get; set; }

            /// <summary>Runs <see cref="forward"/>.</summary>
            public TResult call(T1 input1, T2 input2)
            {
                if (CallReplacement is { } replacement) return replacement(input1, input2);
                if (Tracing.OpRecorder.IsActive) return RecordedCall(() => forward(input1, input2));
                if (Interop.OpTrace.Current is not { } trace) return forward(input1, input2);
                trace.EnterModule(this);
                try
                {
                    return forward(input1, input2);
                }
                finally
                {
                    trace.ExitModule();
                }
            }
        }

        /// <summary>A module with three inputs.</summary>
        public abstract class Module<T1, T2, T3, TResult> : Module
        {
            /// <summary>Creates a module whose type name is <paramref name="name"/>.</summary>
            protected Module(string name) : base(name) { }

            /// <summary>The computation.</summary>
            public abstract TResult forward(T1 input1, T2 input2, T3 input3);

            /// <summary>Runs <see cref="forward"/>.</summary>
            public TResult call(T1 input1, T2 input2, T3 input3)
            {
                if (Tracing.OpRecorder.IsActive) return RecordedCall(() => forward(input1, input2, input3));
                if (Interop.OpTrace.Current is not { } trace) return forward(input1, input2, input3);
                trace.EnterModule(this);
                try
                {
                    return forward(input1, input2, input3);
                }
                finally
                {
                    trace.ExitModule();
                }
            }
        }
    }
}

/// <summary>
/// A state dict that does not fit a module: every missing key, unexpected key and shape mismatch is listed, so one
/// exception tells the whole story.
/// </summary>
public sealed class StateDictMismatchException : Exception
{
    /// <summary>Creates the exception from the lists of problems.</summary>
    public StateDictMismatchException(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<string> mismatched)
        : base(Describe(module, missing, unexpected, mismatched))
    {
        MissingKeys = missing;
        UnexpectedKeys = unexpected;
        ShapeMismatches = mismatched;
    }

    /// <summary>Keys the module has and the state dict lacks.</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>Keys the state dict has and the module lacks.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>"key: checkpoint shape [..], model shape [..]" for each mismatch.</summary>
    public IReadOnlyList<string> ShapeMismatches { get; }

    private static string Describe(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<string> mismatched)
    {
        var parts = new List<string> { $"Error(s) in loading state_dict for {module}:" };
        if (missing.Count > 0) parts.Add("  missing key(s): " + string.Join(", ", missing));
        if (unexpected.Count > 0) parts.Add("  unexpected key(s): " + string.Join(", ", unexpected));
        foreach (var m in mismatched) parts.Add("  size mismatch for " + m);
        return string.Join(Environment.NewLine, parts);
    }
}

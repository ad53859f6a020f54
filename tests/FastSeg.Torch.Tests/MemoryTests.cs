using System.Globalization;
using FastSeg.Torch;
using Xunit;
using Xunit.Abstractions;
using static FastSeg.Torch.torch;
using F = FastSeg.Torch.torch.nn.functional;

namespace FastSeg.Torch.Tests;

/// <summary>Runs alone, so that the resident-memory figures are not disturbed by tests running beside it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public class ResidentMemoryCollection
{
    public const string Name = "resident memory";
}

/// <summary>A long forward/backward loop whose temporaries are freed by a dispose scope per iteration.</summary>
[Collection(ResidentMemoryCollection.Name)]
public class ResidentMemoryTests
{
    private readonly ITestOutputHelper _output;

    public ResidentMemoryTests(ITestOutputHelper output) => _output = output;

    /// <summary>VmRSS of this process, in bytes, from /proc/self/status.</summary>
    private static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
            var kb = line["VmRSS:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
            return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
        }
        throw new InvalidOperationException("no VmRSS line in /proc/self/status");
    }

    [Fact]
    public void TrainingLoopInsideDisposeScopesDoesNotGrowResidentMemory()
    {
        if (!File.Exists("/proc/self/status")) return; // not Linux: nothing to measure
        const int warmup = 200, iterations = 2000;
        manual_seed(7);
        using var x = randn(2, 3, 32, 32);
        using var weight = randn(new long[] { 8, 3, 3, 3 }, requires_grad: true);
        using var bias = zeros(new long[] { 8 }, requires_grad: true);
        var padding = new long[] { 1, 1 };
        Tensor? lastOutput = null, lastGrad = null;
        double checksum = 0;

        void Step()
        {
            using (NewDisposeScope())
            {
                var y = F.conv2d(x, weight, bias, padding: padding).relu();
                var loss = y.mean();
                loss.backward();
                var g = weight.grad!;
                checksum += g.abs().sum().item<float>();
                weight.grad = null;
                bias.grad = null;
                lastOutput = y;
                lastGrad = g;
            }
        }

        for (int k = 0; k < warmup; k++) Step();
        long before = ResidentBytes();
        for (int k = 0; k < iterations; k++) Step();
        long after = ResidentBytes();

        double growthMb = (after - before) / (1024.0 * 1024.0);
        _output.WriteLine($"VmRSS after {warmup} warm-up iterations: {before / (1024.0 * 1024.0):F1} MB; " +
                          $"after {iterations} more: {after / (1024.0 * 1024.0):F1} MB; growth {growthMb:F2} MB");

        // One leaked activation per iteration would be 2·8·32·32·4 bytes = 64 KiB, i.e. 125 MiB over the loop.
        Assert.True(growthMb < 50, $"resident memory grew by {growthMb:F1} MB over {iterations} iterations");

        // Everything the last iteration made was freed by its scope, deterministically.
        Assert.True(lastOutput!.IsInvalid);
        Assert.True(lastGrad!.IsInvalid);
        Assert.False(weight.IsInvalid);
        Assert.Null(weight.grad);
        Assert.True(checksum > 0 && double.IsFinite(checksum));
    }
}

/// <summary>Prepacked convolution contexts (custom-class objects held through the bridge) are released on Dispose.</summary>
[Collection(ResidentMemoryCollection.Name)]
public class ScriptObjectMemoryTests
{
    private readonly ITestOutputHelper _output;

    public ScriptObjectMemoryTests(ITestOutputHelper output) => _output = output;

    private static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
            var kb = line["VmRSS:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
            return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
        }
        throw new InvalidOperationException("no VmRSS line in /proc/self/status");
    }

    [Fact]
    public void PrepackedContextsAreReleasedOnDispose()
    {
        if (!File.Exists("/proc/self/status")) return; // not Linux: nothing to measure
        const int warmup = 20, iterations = 300;
        manual_seed(11);
        // 256·256·3·3 floats = 2.25 MiB of packed weights per context.
        using var weight = randn(256, 256, 3, 3);
        using var input = randn(1, 256, 8, 8);
        long[] one = { 1, 1 };
        ScriptObject? last = null;
        double checksum = 0;

        void Step()
        {
            using var context = mkldnn_prepacked.conv2d_prepack(weight, null, one, one, one, 1, new long[] { 1, 256, 8, 8 }, "relu");
            using (NewDisposeScope()) checksum += mkldnn_prepacked.conv2d_run(input, context).sum().item<float>();
            last = context;
        }

        for (int k = 0; k < warmup; k++) Step();
        long before = ResidentBytes();
        for (int k = 0; k < iterations; k++) Step();
        long after = ResidentBytes();
        double growthMb = (after - before) / (1024.0 * 1024.0);
        _output.WriteLine($"VmRSS {before / 1048576.0:F1} MB -> {after / 1048576.0:F1} MB over {iterations} contexts; growth {growthMb:F2} MB");
        // One leaked context per iteration would be 2.25 MiB, i.e. 675 MiB over the loop.
        Assert.True(growthMb < 150, $"resident memory grew by {growthMb:F1} MB over {iterations} prepacked contexts");
        Assert.True(last!.IsInvalid);
        Assert.True(checksum > 0 && double.IsFinite(checksum));
    }
}

/// <summary>The bookkeeping of <see cref="DisposeScope"/>.</summary>
public class DisposeScopeTests
{
    [Fact]
    public void TensorsCreatedInsideAScopeAreDisposedWithIt()
    {
        var outerBefore = DisposeScope.Current;
        Tensor a, b, c;
        using (var scope = NewDisposeScope())
        {
            Assert.Same(scope, DisposeScope.Current);
            a = ones(2);
            b = a + 1;
            c = b.view(2, 1); // a view is a tensor of its own
            Assert.Equal(3, scope.DisposablesCount);
            Assert.Equal(new float[] { 2, 2 }, b.ToArray<float>());
        }
        Assert.Same(outerBefore, DisposeScope.Current);
        Assert.True(a.IsInvalid);
        Assert.True(b.IsInvalid);
        Assert.True(c.IsInvalid);
        Assert.Throws<ObjectDisposedException>(() => a.sum());
    }

    [Fact]
    public void TensorsCreatedOutsideAnyScopeAreNotAffected()
    {
        using var outside = tensor(new float[] { 1, 2, 3 });
        Tensor inside;
        using (NewDisposeScope())
        {
            inside = outside * 2;
            using var alias = outside.alias();
        }
        Assert.True(inside.IsInvalid);
        Assert.False(outside.IsInvalid);
        Assert.Equal(new float[] { 1, 2, 3 }, outside.ToArray<float>());
    }

    [Fact]
    public void ExplicitDisposeInsideAScopeRemovesTheTensorFromIt()
    {
        using var scope = NewDisposeScope();
        var a = ones(2);
        var b = zeros(2);
        Assert.Equal(2, scope.DisposablesCount);
        a.Dispose();
        Assert.True(a.IsInvalid);
        Assert.Equal(1, scope.DisposablesCount);
        Assert.False(b.IsInvalid);
    }

    [Fact]
    public void MoveToOuterDisposeScopeAtTheTopLevelDetachesTheResult()
    {
        var outerBefore = DisposeScope.Current;
        Tensor result, temporary;
        using (NewDisposeScope())
        {
            temporary = arange(4, ScalarType.Float32);
            result = (temporary * temporary).MoveToOuterDisposeScope();
        }
        Assert.True(temporary.IsInvalid);
        Assert.False(result.IsInvalid);
        Assert.Equal(new float[] { 0, 1, 4, 9 }, result.ToArray<float>());
        result.Dispose();
    }

    [Fact]
    public void NestedScopesHandResultsOutwardOneLevelAtATime()
    {
        Tensor kept, innerTemp, outerTemp, fromOuterUsedInside;
        using (var outer = NewDisposeScope())
        {
            outerTemp = ones(3);
            fromOuterUsedInside = full(new long[] { 3 }, 2.0);
            Assert.Equal(2, outer.DisposablesCount);
            using (var inner = NewDisposeScope())
            {
                Assert.Same(outer, inner.Outer);
                innerTemp = fromOuterUsedInside + outerTemp;
                kept = (innerTemp * 10).MoveToOuterDisposeScope();
                Assert.Equal(1, inner.DisposablesCount);
                Assert.Equal(3, outer.DisposablesCount);
            }
            Assert.Same(outer, DisposeScope.Current);
            Assert.True(innerTemp.IsInvalid);
            Assert.False(kept.IsInvalid);
            Assert.False(fromOuterUsedInside.IsInvalid);
            Assert.Equal(new float[] { 30, 30, 30 }, kept.ToArray<float>());
        }
        Assert.True(kept.IsInvalid);
        Assert.True(outerTemp.IsInvalid);
        Assert.True(fromOuterUsedInside.IsInvalid);
    }

    [Fact]
    public void DisposeEverythingButKeepsOnlyTheNamedTensors()
    {
        Tensor keep1, keep2, drop1, drop2;
        using (var scope = NewDisposeScope())
        {
            keep1 = ones(2);
            drop1 = keep1 + 1;
            keep2 = drop1 * 3;
            drop2 = keep2.sum();
            Assert.Equal(4, scope.DisposablesCount);

            scope.DisposeEverythingBut(keep1, keep2);
            Assert.True(drop1.IsInvalid);
            Assert.True(drop2.IsInvalid);
            Assert.False(keep1.IsInvalid);
            Assert.False(keep2.IsInvalid);
            Assert.Equal(2, scope.DisposablesCount);
            Assert.Equal(new float[] { 6, 6 }, keep2.ToArray<float>());

            // the scope stays open and keeps collecting
            var later = keep2 + keep1;
            Assert.Equal(3, scope.DisposablesCount);
            Assert.Equal(new float[] { 7, 7 }, later.ToArray<float>());
        }
        // kept tensors still belonged to the scope, so its end disposes them
        Assert.True(keep1.IsInvalid);
        Assert.True(keep2.IsInvalid);
    }

    [Fact]
    public void DetachFromDisposeScopeSurvivesEveryScope()
    {
        Tensor detached;
        using (NewDisposeScope())
        using (NewDisposeScope())
        {
            detached = ones(2).DetachFromDisposeScope();
        }
        Assert.False(detached.IsInvalid);
        Assert.Equal(new float[] { 1, 1 }, detached.ToArray<float>());
        detached.Dispose();
        Assert.True(detached.IsInvalid);
    }

    [Fact]
    public void ScopesAreThreadLocal()
    {
        Tensor? madeElsewhere = null;
        Tensor madeHere;
        using (NewDisposeScope())
        {
            madeHere = ones(1);
            var t = new Thread(() => madeElsewhere = ones(1));
            t.Start();
            t.Join();
        }
        Assert.True(madeHere.IsInvalid);
        Assert.False(madeElsewhere!.IsInvalid);
        madeElsewhere.Dispose();
    }

    [Fact]
    public void GradientsReadInsideAScopeDoNotFreeTheLeafsGradient()
    {
        using var x = tensor(new float[] { 1, 2 }, requires_grad: true);
        using (NewDisposeScope())
        {
            var loss = (x * x).sum();
            loss.backward();
            var g = x.grad!;
            Assert.Equal(new float[] { 2, 4 }, g.ToArray<float>());
        }
        // the scope released its reference to the gradient, not the gradient itself
        using var again = x.grad!;
        Assert.Equal(new float[] { 2, 4 }, again.ToArray<float>());
    }
}

public class DisposeScopeOrderTests
{
    [Fact]
    public void DisposingAnOuterScopeFirstLeavesTheThreadUsable()
    {
        var outer = NewDisposeScope();
        var inner = NewDisposeScope();
        var a = ones(2);
        outer.Dispose(); // out of order: the inner scope is still open
        Assert.False(a.IsInvalid); // a belongs to the inner scope
        inner.Dispose();
        Assert.True(a.IsInvalid);
        Assert.Null(DisposeScope.Current);
        using var b = ones(2);
        Assert.Equal(2f, b.sum().item<float>());
    }
}

// QuickStart: builds a small segmentation network from FastSeg.Torch layers, trains it for a few steps on generated
// images (a bright rectangle to find on a noisy background) and prints the loss falling and the final pixel accuracy.
using FastSeg.Torch;
using static FastSeg.Torch.torch;
using static FastSeg.Torch.torch.nn;

const int Steps = 60;
const int Batch = 8;
const int Size = 32;

manual_seed(0);
using var net = Sequential(
    ("conv1", Conv2d(3, 16, 3, padding: 1, bias: false)), ("bn1", BatchNorm2d(16)), ("relu1", ReLU()),
    ("conv2", Conv2d(16, 16, 3, padding: 2, dilation: 2, bias: false)), ("bn2", BatchNorm2d(16)), ("relu2", ReLU()),
    ("classifier", Conv2d(16, 2, 1)));
Console.WriteLine($"FastSeg QuickStart on libtorch {__version__}, {get_num_threads()} threads");
Console.WriteLine($"network: {net.parameters().Sum(p => p.numel()):N0} parameters, 2 classes, {Size}x{Size} inputs");

var rng = new Random(1);
(Tensor images, Tensor masks) MakeBatch()
{
    var image = new float[Batch * 3 * Size * Size];
    var mask = new long[Batch * Size * Size];
    for (int n = 0; n < Batch; n++)
    {
        int x0 = rng.Next(0, Size - 12), y0 = rng.Next(0, Size - 12), w = rng.Next(6, 12), h = rng.Next(6, 12);
        for (int y = 0; y < Size; y++)
        for (int x = 0; x < Size; x++)
        {
            bool inside = x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
            mask[(n * Size + y) * Size + x] = inside ? 1 : 0;
            for (int c = 0; c < 3; c++)
                image[((n * 3 + c) * Size + y) * Size + x] = (inside ? 0.6f : -0.2f) + (float)(rng.NextDouble() - 0.5);
        }
    }
    return (tensor(image, new long[] { Batch, 3, Size, Size }), tensor(mask, new long[] { Batch, Size, Size }));
}

using var optimizer = optim.SGD(net.parameters(), lr: 0.1, momentum: 0.9, weight_decay: 1e-4);
var scheduler = optim.lr_scheduler.PolynomialLR(optimizer, total_iters: Steps, power: 0.9);
double first = 0, last = 0;
for (int step = 1; step <= Steps; step++)
{
    using var scope = NewDisposeScope();
    var (images, masks) = MakeBatch();
    var logits = net.call(images);
    var loss = functional.cross_entropy(logits, masks);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    scheduler.step();
    last = loss.item<float>();
    if (step == 1) first = last;
    if (step == 1 || step % 10 == 0) Console.WriteLine($"step {step,3}  loss {last:F4}  lr {scheduler.get_last_lr()[0]:F4}");
}

net.eval();
using (var scope = NewDisposeScope())
using (no_grad())
{
    var (images, masks) = MakeBatch();
    var predicted = net.call(images).argmax(1);
    double accuracy = predicted.eq(masks).@float().mean().item<float>();
    Console.WriteLine($"loss fell from {first:F4} to {last:F4}; pixel accuracy on a fresh batch: {accuracy:P1}");
}
return last < first ? 0 : 1;

using Xunit;

// The zoo tests seed libtorch's global generator before building a network; tests running side by side would draw
// from it in between and change the weights from run to run.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

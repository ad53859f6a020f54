using Xunit;

// Leak checks compare the process-wide count of live images, so the test classes run one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

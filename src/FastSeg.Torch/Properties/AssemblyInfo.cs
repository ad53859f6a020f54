using System.Runtime.CompilerServices;

// The engine tests check internals such as the operator table and the argument arena.
[assembly: InternalsVisibleTo("FastSeg.Torch.Tests")]

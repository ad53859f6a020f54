#!/usr/bin/env bash
# Alternates FastSeg and PyTorch runs of the same measurements, so that on a shared machine both see similar load over
# time; every run's output is kept under the log directory for picking the best stable medians.
#   benchmarks/run_paired.sh [rounds] [logdir] [groups]
# Defaults: 3 rounds, BenchmarkDotNet.Artifacts/paired, groups "tiny conv cputime":
#   tiny     TinyOpBenchmarks (BenchmarkDotNet)   vs tools/bench_torch_ops.py --only tiny
#   conv     ConvBenchmarks (BenchmarkDotNet)     vs tools/bench_torch_ops.py --only conv
#   cputime  the CPU-time harness (tiny and conv)  vs tools/bench_torch_ops.py --thread-cpu
# FASTSEG_BENCH_THREADS sets the intra-op thread count for both (default: every core).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
logdir=${2:-BenchmarkDotNet.Artifacts/paired}
groups=${3:-tiny conv cputime}
mkdir -p "$logdir"
dotnet build benchmarks/FastSeg.Benchmarks -c Release -v quiet -nologo >/dev/null
for r in $(seq 1 "$rounds"); do
  for group in $groups; do
    case $group in
      tiny) fs_args=('*TinyOp*'); py_args=(--only tiny) ;;
      conv) fs_args=('*ConvBenchmarks*'); py_args=(--only conv) ;;
      cputime) fs_args=(cputime 1); py_args=(--thread-cpu) ;;
      *) echo "unknown group $group" >&2; exit 2 ;;
    esac
    echo "== round $r $group: $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
    log="$logdir/fastseg_${group}_$r.log"
    dotnet run -c Release --no-build --project benchmarks/FastSeg.Benchmarks -- "${fs_args[@]}" >"$log" 2>&1 ||
      echo "FastSeg run failed, see $log"
    if [ "$group" = cputime ]; then grep -E 'round' "$log" || true
    else grep -E '^\| ' "$log" | grep -v -- '---' || true; fi
    /usr/bin/python3 tools/bench_torch_ops.py "${py_args[@]}" --rounds 1 | tee "$logdir/pytorch_${group}_$r.log" |
      grep -v '^PyTorch' || true
  done
done

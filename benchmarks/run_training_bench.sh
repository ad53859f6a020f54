#!/usr/bin/env bash
# Training throughput, FastSeg vs PyTorch 1.13 eager, alternated so that on a shared machine both see similar load:
# per round, per network and dtype, one FastSeg run then one PyTorch run (the order flips every round). Each run is
# one JSON line (images/s from the median step, CPU seconds per step, load average) appended to the log.
#   benchmarks/run_training_bench.sh [rounds] [log] [dtypes] [threads]
# Defaults: 3 rounds, BenchmarkDotNet.Artifacts/training.jsonl, "fp32 bf16-autocast", 2 threads; fastscnn and
# bisenetv2 at 1024x512 (WxH), batch 4, 2 warm-up and 5 timed steps.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
log=${2:-BenchmarkDotNet.Artifacts/training.jsonl}
dtypes=${3:-fp32 bf16-autocast}
threads=${4:-2}
ref=${ZH320_REF:-/work/ref/zh320}
mkdir -p "$(dirname "$log")"
dotnet build benchmarks/FastSeg.Benchmarks -c Release -v quiet -nologo >/dev/null
fastseg() {
  FASTSEG_BENCH_THREADS=$threads dotnet benchmarks/FastSeg.Benchmarks/bin/Release/net10.0/FastSeg.Benchmarks.dll \
    train --model "$1" --dtype "$2" --size 1024x512 --batch 4 --warmup 2 --steps 5 --json | grep '^{'
}
pytorch() {
  /usr/bin/python3 tools/bench_torch_training.py --ref "$ref" --model "$1" --dtype "$2" --size 1024x512 --batch 4 \
    --warmup 2 --steps 5 --threads "$threads" --json
}
for r in $(seq 1 "$rounds"); do
  for model in fastscnn bisenetv2; do
    for dtype in $dtypes; do
      echo "== round $r $model $dtype: $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      if [ $((r % 2)) -eq 1 ]; then fastseg "$model" "$dtype" | tee -a "$log"; pytorch "$model" "$dtype" | tee -a "$log"
      else pytorch "$model" "$dtype" | tee -a "$log"; fastseg "$model" "$dtype" | tee -a "$log"; fi
    done
  done
done

#!/usr/bin/env bash
# The CPU peer table of issue #15: per network, PyTorch 1.13 eager fp32 (tools/bench_torch_models.py), then in one .NET
# process ONNX Runtime 1.32 fp32 on the reference code's ONNX export, FastSeg eager fp32, FastSeg inference fp32 and
# FastSeg inference bf16 alternated round by round (FastSeg.Benchmarks -- ort-peer); 1024x512, batch 1, 2 threads,
# medians. Networks one after the other, so all engines of a network see the same load.
#   /usr/bin/python3 tools/export_reference_onnx.py ONNX_DIR            # once (18 minutes for the zoo on the loaded machine)
#   benchmarks/run_ort_peer.sh ONNX_DIR [NAME ...]                       # default: every name in ONNX_DIR/exports.txt
#   /usr/bin/python3 benchmarks/ort_peer_table.py benchmarks/logs/ort_peer_<stamp>.jsonl > table.md
# Environment: LOG (default benchmarks/logs/ort_peer_<UTC stamp>.jsonl), SECONDS_PER_NETWORK (timed seconds of the
# .NET alternation per network, default 8: slow networks get fewer rounds), ROUNDS (at most, default 15; at least 3),
# WARMUP (untimed rounds, default 1), TORCH_SECONDS (PyTorch's timed seconds, default 3), THREADS (default 2),
# LIMIT (seconds one process may take before it is stopped and recorded as an error, default 600),
# REF_ZH320 / REF_FASTSEG / REF_SMP (reference checkouts, defaults under /work/ref).
# The log's first line is a header: date, CPU model, core count, native bf16 flags, `uptime`; every other line is one
# engine's result for one network with the load average at its start.
set -euo pipefail
cd "$(dirname "$0")/.."
onnx_dir=${1:?usage: run_ort_peer.sh ONNX_DIR [NAME ...]}
shift
names=("$@")
if [ ${#names[@]} -eq 0 ]; then mapfile -t names <"$onnx_dir/exports.txt"; fi
stamp=$(date -u +%Y-%m-%dT%H%M)
log=${LOG:-benchmarks/logs/ort_peer_$stamp.jsonl}
zh320=${REF_ZH320:-/work/ref/zh320+realtime-semantic-segmentation-pytorch}
fastseg=${REF_FASTSEG:-/work/ref/lxtGH+Fast_Seg}
smp=${REF_SMP:-/work/ref/qubvel+segmentation_models.pytorch}
budget=${SECONDS_PER_NETWORK:-8}
rounds=${ROUNDS:-15}
warmup=${WARMUP:-1}
torch_secs=${TORCH_SECONDS:-3}
threads=${THREADS:-2}
limit=${LIMIT:-600}
bench=benchmarks/FastSeg.Benchmarks/bin/Release/net10.0/FastSeg.Benchmarks.dll
dotnet build benchmarks/FastSeg.Benchmarks -c Release -v quiet -nologo >/dev/null
mkdir -p "$(dirname "$log")"
load() { cut -d' ' -f1 /proc/loadavg; }
json_string() { /usr/bin/python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx512_bf16|amx_bf16|amx_tile|avx512f)$' | tr '\n' ' ' | sed 's/ $//')
echo "{\"header\":true,\"date\":\"$(date -u +%FT%TZ)\",\"cpu\":$(json_string "$cpu"),\"cores\":$(nproc),\"flags\":$(json_string "$flags"),\"uptime\":$(json_string "$(uptime)"),\"threads\":$threads,\"seconds_per_network\":$budget,\"max_rounds\":$rounds,\"warmup\":$warmup,\"torch_seconds\":$torch_secs}" >"$log"
echo "log: $log ($cpu, $(uptime))" >&2
start=$SECONDS
for name in "${names[@]}"; do
  file="$onnx_dir/${name//\//-}.onnx"
  l=$(load)
  if out=$(timeout "$limit" /usr/bin/python3 tools/bench_torch_models.py --ref "$zh320" --fastseg-ref "$fastseg" --smp-ref "$smp" \
      --model "$name" --threads "$threads" --min-seconds "$torch_secs" --warmup "$warmup" --json 2>/dev/null); then
    echo "{\"engine\":\"pytorch-eager-fp32\",\"model\":\"$name\",\"load\":$l,\"result\":$out}" | tr -d '\n' >>"$log"; echo >>"$log"
  else
    echo "{\"engine\":\"pytorch-eager-fp32\",\"model\":\"$name\",\"load\":$l,\"error\":true}" >>"$log"
  fi
  l=$(load)
  if out=$(timeout "$limit" dotnet "$bench" ort-peer --model "$name" --onnx "$file" --threads "$threads" --warmup "$warmup" \
      --rounds "$rounds" --seconds "$budget" 2>/tmp/ort_peer_err.$$); then
    echo "{\"engine\":\"ort-peer\",\"model\":\"$name\",\"load\":$l,\"result\":$out}" >>"$log"
  else
    echo "{\"engine\":\"ort-peer\",\"model\":\"$name\",\"load\":$l,\"error\":$(json_string "$(grep -v '^\s*at ' /tmp/ort_peer_err.$$ | head -c 300)")}" >>"$log"
  fi
  rm -f /tmp/ort_peer_err.$$
  echo "$name done after $((SECONDS - start)) s (load $(load))" >&2
done
echo "{\"footer\":true,\"date\":\"$(date -u +%FT%TZ)\",\"uptime\":$(json_string "$(uptime)"),\"seconds\":$((SECONDS - start))}" >>"$log"
echo "done in $((SECONDS - start)) s: $log" >&2

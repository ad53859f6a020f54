#!/usr/bin/env bash
# Peak resident memory of one 2048x1024 prediction (batch 1, 2 threads): the eager network (eval, no_grad) against
# its inference form in fp32 and bf16, each in a process of its own (FastSeg.Benchmarks -- memory, see
# PredictionMemory.cs); one JSON object per line, after a header with the CPU model and `uptime`.
#   benchmarks/run_memory.sh [NAME ...]      (default: ddrnet ppliteseg stdc bisenetv2 fastscnn)
# Environment: LOG (default benchmarks/logs/memory_<UTC stamp>.jsonl), SIZE (default 2048x1024).
set -euo pipefail
cd "$(dirname "$0")/.."
names=("$@"); [ ${#names[@]} -eq 0 ] && names=(ddrnet ppliteseg stdc bisenetv2 fastscnn)
log=${LOG:-benchmarks/logs/memory_$(date -u +%Y-%m-%dT%H%M).jsonl}
size=${SIZE:-2048x1024}
bench=benchmarks/FastSeg.Benchmarks/bin/Release/net10.0/FastSeg.Benchmarks.dll
dotnet build benchmarks/FastSeg.Benchmarks -c Release -v quiet -nologo >/dev/null
mkdir -p "$(dirname "$log")"
json_string() { /usr/bin/python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "{\"header\":true,\"date\":\"$(date -u +%FT%TZ)\",\"cpu\":$(json_string "$cpu"),\"uptime\":$(json_string "$(uptime)")}" >"$log"
for name in "${names[@]}"; do
  for form in eager fp32 bf16; do
    if out=$(dotnet "$bench" memory --model "$name" --form "$form" --size "$size" --threads 2 2>/dev/null); then
      echo "$out" >>"$log"
    else
      echo "{\"model\":\"$name\",\"form\":\"$form\",\"error\":true}" >>"$log"
    fi
  done
  echo "$name done" >&2
done
/usr/bin/python3 - "$log" <<'EOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if not r.get("header") and not r.get("error"):
        rows.setdefault(r["model"], {})[r["form"]] = r
print("| network | eager fp32: peak / prediction MB | inference fp32 | inference bf16 |")
print("|---|---:|---:|---:|")
for name, forms in rows.items():
    cell = lambda f: f"{forms[f]['peak_rss_mb']:.0f} / {forms[f]['prediction_mb']:.0f}" if f in forms else "-"
    print(f"| {name} | {cell('eager')} | {cell('fp32')} | {cell('bf16')} |")
EOF

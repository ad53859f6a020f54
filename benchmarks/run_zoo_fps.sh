#!/usr/bin/env bash
# FPS of every zoo network at 1024x512 (batch 1, fp32 eager: the network as built, 2 threads), FastSeg and PyTorch 1.13 eager alternated network
# by network so both see the same load; one JSON object per line in the log, with the load average at each run.
#   benchmarks/run_zoo_fps.sh LOG [NAME ...]      (default: every network of `fastseg models list`)
# Needs the reference checkouts (REF_ZH320, REF_FASTSEG, REF_SMP; defaults under /work/ref) for the PyTorch side.
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:?usage: run_zoo_fps.sh LOG [NAME ...]}
shift
zh320=${REF_ZH320:-/work/ref/zh320+realtime-semantic-segmentation-pytorch}
fastseg=${REF_FASTSEG:-/work/ref/lxtGH+Fast_Seg}
smp=${REF_SMP:-/work/ref/qubvel+segmentation_models.pytorch}
secs=${MIN_SECONDS:-2}
warmup=${WARMUP:-1}
cli=src/FastSeg.Cli/bin/Release/net10.0/fastseg.dll
dotnet build src/FastSeg.Cli -c Release -v quiet -nologo >/dev/null
mapfile -t rows < <(dotnet "$cli" models list --json | /usr/bin/python3 -c '
import json, sys
for m in json.load(sys.stdin):
    print(m["name"], m["default_encoder"] or "-")')
: >"$log"
for row in "${rows[@]}"; do
  read -r name encoder <<<"$row"
  if [ $# -gt 0 ] && [[ ! " $* " == *" $name "* ]]; then continue; fi
  enc=(); [ "$encoder" != "-" ] && enc=(--encoder "$encoder")
  load=$(cut -d' ' -f1 /proc/loadavg)
  if out=$(dotnet "$cli" bench --model "$name" "${enc[@]}" --eager --threads 2 --min-seconds "$secs" --warmup "$warmup" --json 2>/dev/null); then
    echo "{\"engine\":\"fastseg\",\"load\":$load,\"result\":$out}" | tr -d '\n' >>"$log"; echo >>"$log"
  else
    echo "{\"engine\":\"fastseg\",\"model\":\"$name\",\"error\":true}" >>"$log"
  fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$name" = msfnet ]; then continue; fi # built from its paper: no reference code to time
  if out=$(/usr/bin/python3 tools/bench_torch_models.py --ref "$zh320" --fastseg-ref "$fastseg" --smp-ref "$smp" \
      --model "$name" "${enc[@]}" --threads 2 --min-seconds "$secs" --warmup "$warmup" --json 2>/dev/null); then
    echo "{\"engine\":\"pytorch\",\"load\":$load,\"result\":$out}" | tr -d '\n' >>"$log"; echo >>"$log"
  else
    echo "{\"engine\":\"pytorch\",\"model\":\"$name\",\"error\":true}" >>"$log"
  fi
  echo "$name done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done

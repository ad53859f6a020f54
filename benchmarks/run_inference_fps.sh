#!/usr/bin/env bash
# FPS at 1024x512 (batch 1, 2 threads) of PyTorch 1.13 eager fp32, FastSeg eager fp32 (the network as built) and
# FastSeg's inference form (SegmentationModel.ForInference: BN folded, channels-last, weights converted once) in fp32
# and bf16, alternated network by network so all four see the same load; one JSON object per line, with the load.
# UNFUSED=1 adds the inference form without prepacked/fused convolutions (--no-fused-kernels) in fp32 and bf16.
#   benchmarks/run_inference_fps.sh LOG [NAME ...]      (default: ddrnet ppliteseg stdc bisenetv2 fastscnn)
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:?usage: run_inference_fps.sh LOG [NAME ...]}
shift
names=("$@"); [ ${#names[@]} -eq 0 ] && names=(ddrnet ppliteseg stdc bisenetv2 fastscnn)
zh320=${REF_ZH320:-/work/ref/zh320+realtime-semantic-segmentation-pytorch}
fastseg=${REF_FASTSEG:-/work/ref/lxtGH+Fast_Seg}
smp=${REF_SMP:-/work/ref/qubvel+segmentation_models.pytorch}
secs=${MIN_SECONDS:-3}
warmup=${WARMUP:-2}
cli=src/FastSeg.Cli/bin/Release/net10.0/fastseg.dll
dotnet build src/FastSeg.Cli -c Release -v quiet -nologo >/dev/null
: >"$log"
record() { # engine, command...
  local engine=$1; shift
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  if out=$("$@" 2>/dev/null); then
    echo "{\"engine\":\"$engine\",\"load\":$load,\"result\":$out}" | tr -d '\n' >>"$log"; echo >>"$log"
  else
    echo "{\"engine\":\"$engine\",\"model\":\"$name\",\"error\":true}" >>"$log"
  fi
}
common=(--threads 2 --min-seconds "$secs" --warmup "$warmup" --json)
for name in "${names[@]}"; do
  record pytorch-eager-fp32 /usr/bin/python3 tools/bench_torch_models.py --ref "$zh320" --fastseg-ref "$fastseg" --smp-ref "$smp" \
    --model "$name" "${common[@]}"
  record fastseg-eager-fp32 dotnet "$cli" bench --model "$name" --eager "${common[@]}"
  record fastseg-inference-fp32 dotnet "$cli" bench --model "$name" --precision fp32 "${common[@]}"
  record fastseg-inference-bf16 dotnet "$cli" bench --model "$name" --precision bf16 "${common[@]}"
  if [ "${UNFUSED:-0}" = 1 ]; then
    record fastseg-inference-fp32-unfused dotnet "$cli" bench --model "$name" --precision fp32 --no-fused-kernels "${common[@]}"
    record fastseg-inference-bf16-unfused dotnet "$cli" bench --model "$name" --precision bf16 --no-fused-kernels "${common[@]}"
  fi
  echo "$name done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done

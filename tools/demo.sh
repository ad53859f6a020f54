#!/usr/bin/env bash
# The main job, end to end with the `fastseg` tool on generated data:
#   1. write a synthetic street-scene dataset in the Cityscapes layout,
#   2. train Fast-SCNN on it for a few minutes (OHEM loss, cos_warmup schedule, random scale and flip),
#   3. evaluate the best checkpoint (per-class IoU table, mIoU),
#   4. segment the validation images: class-id, colour and overlay PNGs,
#   5. print the FPS table of every network of the zoo at 1024x512.
# Everything goes under $FASTSEG_DEMO_DIR (default ./demo-output). About 10 minutes on 2 idle cores, build included.
# FASTSEG_DEMO_EPOCHS (default 10) and FASTSEG_DEMO_BENCH_SECONDS (default 0: one warm-up and 3 timed forwards per
# network; fastseg bench --min-seconds) lengthen or shorten the training and the timing runs.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${FASTSEG_DEMO_DIR:-demo-output}
epochs=${FASTSEG_DEMO_EPOCHS:-10}
bench_seconds=${FASTSEG_DEMO_BENCH_SECONDS:-0}

echo "== building the fastseg tool"
dotnet build src/FastSeg.Cli -c Release -nologo -v q -clp:ErrorsOnly -clp:NoSummary
fastseg() { dotnet src/FastSeg.Cli/bin/Release/net10.0/fastseg.dll "$@"; }

rm -rf "$out/run" "$out/predictions"
echo "== 1. synthetic dataset"
fastseg dataset make-synthetic "$out/data" --size 512x256 --train 48 --val 8 --seed 7

echo "== 2. training fastscnn ($epochs epochs)"
fastseg train model=fastscnn "data_root=$out/data" "save_dir=$out/run" total_epoch="$epochs" warmup_epochs=1 \
  train_bs=4 val_bs=4 crop_h=256 crop_w=512 optimizer_type=adam base_lr=0.1 loss_type=ohem \
  randscale=-0.25,0.5 h_flip=0.5 val_interval=3 base_workers=2 use_tb=true --print-every 24

echo "== 3. evaluation of $out/run/best.pth"
fastseg val --config "$out/run/config.json"

echo "== 4. prediction on the validation images"
fastseg predict "$out/data/leftImg8bit/val" --checkpoint "$out/run/best.pth" --output "$out/predictions" --alpha 0.5

echo "== 5. inference speed of every network at 1024x512 (batch 1, fp32, $(nproc) cores)"
fastseg bench --all --size 1024x512 --min-seconds "$bench_seconds" --warmup 1

echo "== done: checkpoints and metrics in $out/run, overlays in $out/predictions"

#!/usr/bin/env bash
# Makes tests/FastSeg.Training.Tests/Fixtures/trained/fastscnn_synthetic.pth: Fast-SCNN trained by `fastseg train` on
# the synthetic street scenes (the demo's recipe, smaller: 32 training scenes of 256x128, random 128x128 crops with
# flips, OHEM, Adam at 0.1 · base_lr = 0.02, cos_warmup), 40 epochs = 320 steps of batch 4, seed 7, one thread; then
# only the network's weights (the checkpoint's state_dict, about 4 MB) are kept, as a bare PyTorch state dict written
# by python3-torch. The bf16 accuracy test (InferencePrecisionAccuracyTests) reads it; it never trains in CI.
# About 4 minutes on an idle core (one thread: on a loaded machine two spin at barriers).
#   bash tools/make_trained_fastscnn_fixture.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
out=tests/FastSeg.Training.Tests/Fixtures/trained/fastscnn_synthetic.pth
dotnet build src/FastSeg.Cli -c Release -nologo -v q -clp:ErrorsOnly -clp:NoSummary
fastseg() { dotnet src/FastSeg.Cli/bin/Release/net10.0/fastseg.dll "$@"; }
rm -rf "$work/data" "$work/run"
fastseg dataset make-synthetic "$work/data" --size 256x128 --train 32 --val 8 --seed 3
OMP_NUM_THREADS=1 fastseg train model=fastscnn "data_root=$work/data" "save_dir=$work/run" total_epoch=40 warmup_epochs=2 \
  train_bs=4 val_bs=4 crop_h=128 crop_w=128 optimizer_type=adam base_lr=0.2 loss_type=ohem h_flip=0.5 \
  val_interval=10 base_workers=0 random_seed=7 use_tb=false val_best=false --print-every 80
mkdir -p "$(dirname "$out")"
/usr/bin/python3 - "$work/run/last.pth" "$out" <<'EOF'
import sys
import torch
state = torch.load(sys.argv[1], map_location="cpu")["state_dict"]
torch.save({k: v.clone() for k, v in state.items()}, sys.argv[2])
print(f"{sys.argv[2]}: {len(state)} tensors, {sum(v.numel() for v in state.values()):,} values")
EOF

"""Turns a benchmarks/run_zoo_fps.sh log and `fastseg models describe --json` figures into the README's model table.

  /usr/bin/python3 benchmarks/zoo_table.py LOG LIST.json DESCRIBE.jsonl > table.md

LIST.json: `fastseg models list --json` (source, reference mIoU); DESCRIBE.jsonl: one `fastseg models describe NAME
--json` object per line, state dict left out (encoder, params, gflops_1024x512). Rows are grouped by
source project and sorted by FastSeg's FPS; FPS cells are FastSeg / PyTorch 1.13 eager on the same machine, alternated.
"""
import json
import sys

SOURCES = [("zh320", "zh320/realtime-semantic-segmentation-pytorch"), ("fast_seg", "lxtGH/Fast_Seg"),
           ("smp", "segmentation_models.pytorch (distillation teachers)")]


def main(log_path, list_path, describe_path):
    fps = {}
    with open(log_path) as f:
        for line in f:
            row = json.loads(line)
            result = row.get("result")
            name = result["model"] if result else row["model"]
            fps.setdefault(name, {})[row["engine"]] = None if row.get("error") else result["fps"]
    with open(list_path) as f:
        info = {m["name"]: m for m in json.load(f)}
    with open(describe_path) as f:
        for line in f:
            d = json.loads(line)
            info[d["name"]].update(d)
    for source, title in SOURCES:
        names = [n for n, d in info.items() if d.get("source") == source]
        if not names:
            continue
        print(f"**{title}**\n")
        print("| Network | Encoder | Params | GFLOPs | CPU FPS FastSeg | CPU FPS PyTorch | ref. mIoU |")
        print("|---|---|---:|---:|---:|---:|---:|")
        names.sort(key=lambda n: -(fps.get(n, {}).get("fastseg") or 0))
        for n in names:
            d = info[n]
            f = fps.get(n, {})
            cell = lambda v: "-" if v is None else f"{v:.2f}"
            miou = d.get("reference_miou")
            print(f"| {n} | {d.get('encoder') or '-'} | {d['params']:,} | {d['gflops_1024x512']:.2f} | "
                  f"{cell(f.get('fastseg'))} | {cell(f.get('pytorch'))} | {'-' if miou is None else f'{miou:.2f}'} |")
        print()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])

"""Turns a benchmarks/run_ort_peer.sh log into the CPU peer table of issue #15 (markdown on stdout).

  /usr/bin/python3 benchmarks/ort_peer_table.py benchmarks/logs/ort_peer_<stamp>.jsonl > table.md

Columns: median ms per frame of PyTorch eager fp32, ONNX Runtime fp32 (on the reference code's export), FastSeg eager
fp32, FastSeg inference fp32 and bf16; then speed ratios (how many times faster, i.e. the other's ms / this one's ms):
inference fp32 vs ORT, bf16 vs ORT, bf16 vs PyTorch eager. The last line is the median over networks of bf16 vs
PyTorch eager. A cell is "-" where that engine failed; a network whose ORT output has another shape than FastSeg's
is marked with its shapes under the table (its graph does different work).
"""
import json
import statistics
import sys

FORMS = ["ort-fp32", "fastseg-eager-fp32", "fastseg-inference-fp32", "fastseg-inference-bf16"]


def load(path):
    header, footer, rows = None, None, {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("header"):
                header = r
            elif r.get("footer"):
                footer = r
            else:
                row = rows.setdefault(r["model"], {"errors": []})
                if r.get("error"):
                    row["errors"].append(f"{r['engine']}: {r['error'] if r['error'] is not True else 'failed'}")
                elif r["engine"] == "pytorch-eager-fp32":
                    row["pytorch"] = r["result"]["median_ms"]
                    row["load_torch"] = r["load"]
                else:
                    res = r["result"]
                    row["rounds"] = res["rounds"]
                    row["load"] = r["load"]
                    for form in FORMS:
                        f = res["forms"].get(form, {"error": "not measured"})
                        if "error" in f:
                            row["errors"].append(f"{form}: {f['error']}")
                            continue
                        row[form] = f["median_ms"]
                        row[form + "-shape"] = f["output_shape"]
    return header, footer, rows


def ratio(slow, fast):
    return None if slow is None or fast is None else slow / fast


def cell(v, fmt):
    return "-" if v is None else format(v, fmt)


def main(path):
    header, footer, rows = load(path)
    if header:
        print(f"{header['date']}, {header['cpu']} ({header['cores']} cores; {header['flags'] or 'no bf16 flags'}), "
              f"{header['threads']} threads, 1024x512, batch 1; at start: `{header['uptime'].strip()}`"
              + (f"; at end: `{footer['uptime'].strip()}` ({footer['seconds']} s)" if footer else "") + "\n")
    print("| network (ms per frame) | PyTorch eager fp32 | ORT 1.32 fp32 | FastSeg eager fp32 | FastSeg inference fp32 | "
          "FastSeg inference bf16 | inf. fp32 vs ORT | bf16 vs ORT | bf16 vs PyTorch | rounds | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    over_pytorch, notes = [], []
    for name in sorted(rows):
        r = rows[name]
        pt, ort = r.get("pytorch"), r.get("ort-fp32")
        eager, fp32, bf16 = (r.get(f) for f in FORMS[1:])
        bf16_pt = ratio(pt, bf16)
        if bf16_pt is not None:
            over_pytorch.append(bf16_pt)
        print(f"| {name} | {cell(pt, '.1f')} | {cell(ort, '.1f')} | {cell(eager, '.1f')} | {cell(fp32, '.1f')} | "
              f"{cell(bf16, '.1f')} | {cell(ratio(ort, fp32), '.2f')}x | {cell(ratio(ort, bf16), '.2f')}x | "
              f"{cell(bf16_pt, '.2f')}x | {r.get('rounds', '-')} | {cell(r.get('load'), '.2f')} |")
        if "ort-fp32-shape" in r and r["ort-fp32-shape"] != r.get("fastseg-eager-fp32-shape"):
            notes.append(f"{name}: ORT output {r['ort-fp32-shape']}, FastSeg {r['fastseg-eager-fp32-shape']}")
        notes += [f"{name}: {e}" for e in r["errors"]]
    if over_pytorch:
        print(f"\nMedian over {len(over_pytorch)} networks of bf16 inference vs PyTorch eager fp32: "
              f"{statistics.median(over_pytorch):.2f}x")
    if notes:
        print("\n" + "\n".join(f"- {n}" for n in notes))


if __name__ == "__main__":
    main(sys.argv[1])

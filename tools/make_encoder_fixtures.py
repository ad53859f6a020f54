"""Writes tests/FastSeg.Models.Tests/Fixtures/encoders.json: the state-dict layout (keys and shapes, in order) of
torchvision's ImageNet ResNets and MobileNetV2, so the tests can check that FastSeg's encoders take torchvision
checkpoints by key mapping without shipping the 45-500 MB weight files.
Run with Debian's interpreter (python3-torchvision): /usr/bin/python3 tools/make_encoder_fixtures.py
"""
import json
import os

import torchvision.models as tvm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "FastSeg.Models.Tests", "Fixtures", "encoders.json")


def layout(model):
    sd = model.state_dict()
    return {"keys": list(sd.keys()), "shapes": [list(t.shape) for t in sd.values()]}


def main():
    fixture = {name: layout(getattr(tvm, name)(weights=None))
               for name in ("resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v2")}
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

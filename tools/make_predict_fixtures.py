"""Writes tests/FastSeg.Models.Tests/Fixtures/predict/: checkpoints saved by PyTorch and the logits that prediction at
odd sizes must give, for a tiny network both sides define identically (TinyNet in InferenceTests.cs).

Usage: /usr/bin/python3 tools/make_predict_fixtures.py

TinyNet: conv 3x3 stride 2 (3 -> 6) -> relu -> conv 3x3 stride 4 (6 -> 5 classes) -> bilinear upsampling to the input
size. Its input height and width must be multiples of 8 (the C# side declares InputMultiple = 8).

Files:
  tiny_state_dict.pth          torch.save(net.state_dict()) (zip format)
  tiny_dataparallel_legacy.pth {"epoch": 3, "model": {"module." + key: tensor}}, legacy (non-zip) format, the layout of
                               a DataParallel training script's checkpoint
  predict.json                 the input pixels (uint8, 3 x 19 x 13) and the logits of pad mode, resize mode and pad mode
                               at the fixed inference size 12 x 20 (H x W), as SegmentationPredictor defines them:
                               ImageNet normalisation; pad: zeros bottom/right to the next multiple of 8, crop back;
                               resize: bilinear to the nearest multiple (align_corners False), bilinear back.
"""
import os
from collections import OrderedDict

import torch
import torch.nn.functional as F

import fixture_io

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "tests", "FastSeg.Models.Tests", "Fixtures", "predict")
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1) * 255.0
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1) * 255.0
MULTIPLE = 8


class TinyNet(torch.nn.Module):
    def __init__(self, num_class=5):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.conv2 = torch.nn.Conv2d(6, num_class, 3, stride=4, padding=1)

    def forward(self, x):
        size = x.shape[2:]
        x = self.conv2(F.relu(self.conv1(x)))
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def round_up(v):
    return (v + MULTIPLE - 1) // MULTIPLE * MULTIPLE


def round_nearest(v):
    # SegmentationPredictor rounds halves away from zero and never below one multiple.
    return max(MULTIPLE, int(v / MULTIPLE + 0.5) * MULTIPLE)


def resize(x, h, w):
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)


def predict_pad(net, x, size=None):
    h, w = x.shape[2:]
    rh, rw = size or (h, w)
    if (rh, rw) != (h, w):
        x = resize(x, rh, rw)
    nh, nw = round_up(rh), round_up(rw)
    y = net(F.pad(x, (0, nw - rw, 0, nh - rh)))[:, :, :rh, :rw]
    return resize(y, h, w) if (rh, rw) != (h, w) else y


def predict_resize(net, x):
    h, w = x.shape[2:]
    nh, nw = round_nearest(h), round_nearest(w)
    y = net(resize(x, nh, nw))
    return resize(y, h, w)


def main():
    torch.set_num_threads(2)
    torch.manual_seed(7)
    net = TinyNet().eval()
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.save(net.state_dict(), os.path.join(OUT_DIR, "tiny_state_dict.pth"))
    wrapped = OrderedDict(("module." + k, v) for k, v in net.state_dict().items())
    torch.save({"epoch": 3, "model": wrapped}, os.path.join(OUT_DIR, "tiny_dataparallel_legacy.pth"),
               _use_new_zipfile_serialization=False)

    pixels = torch.randint(0, 256, (3, 19, 13), dtype=torch.uint8)
    x = ((pixels.float() - MEAN) / STD).unsqueeze(0)
    with torch.no_grad():
        cases = {
            "tiny": {
                "pixels": pixels,
                "pad": predict_pad(net, x)[0],
                "resize": predict_resize(net, x)[0],
                "pad_at_12x20": predict_pad(net, x, (12, 20))[0],
            }
        }
    fixture_io.write(os.path.join(OUT_DIR, "predict.json"), cases)


if __name__ == "__main__":
    main()

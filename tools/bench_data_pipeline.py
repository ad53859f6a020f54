#!/usr/bin/python3
"""The Python side of the data-pipeline benchmark (benchmarks/FastSeg.Data.Benchmarks measures FastSeg).

Same files, same pipeline, same measurement: zh320's training pipeline at crop 1024 (albumentations 1.3.0 semantics,
written out here with OpenCV and numpy because albumentations is not packaged for Debian): decode a 2048x1024 PNG pair,
labelIds -> trainIds, RandomScale 0.5-2.0 (p 0.5), PadIfNeeded 1024 (reflect-101, centred), RandomCrop 1024,
ColorJitter(0.5, 0.5, 0.5, hue 0.2, p 0.5, random order), HorizontalFlip 0.5, Normalize (ImageNet), ToTensorV2, then
torch's DataLoader (batch 2, shuffle, drop_last) with 1 and 2 worker processes.

Run with Debian's interpreter (python3-opencv, python3-torch):
    /usr/bin/python3 tools/bench_data_pipeline.py --root /tmp/fastseg-data-bench
The files are written by the C# benchmark (it generates them on its first run).
"""
import argparse
import glob
import os
import random
import statistics
import time

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

# Cityscapes labelIds -> trainIds (everything else ignored).
LABEL_TO_TRAIN = np.full(256, 255, np.uint8)
for label_id, train_id in {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12,
                           26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}.items():
    LABEL_TO_TRAIN[label_id] = train_id

MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255.0
INV_STD = 1.0 / (np.array([0.229, 0.224, 0.225], np.float32) * 255.0)
CROP = 1024


def brightness(img, f):
    if f == 1:
        return img
    lut = np.clip(np.arange(256) * f, 0, 255).astype(np.uint8)
    return cv2.LUT(img, lut)


def contrast(img, f):
    if f == 1:
        return img
    mean = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).mean()
    lut = np.clip(np.arange(256) * f + mean * (1 - f), 0, 255).astype(np.uint8)
    return cv2.LUT(img, lut)


def saturation(img, f):
    if f == 1:
        return img
    grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return cv2.addWeighted(img, f, grey, 1 - f, 0)


def hue(img, f):
    if f == 0:
        return img
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    lut = np.mod(np.arange(256, dtype=np.int16) + 180 * f, 180).astype(np.uint8)
    hsv[..., 0] = cv2.LUT(hsv[..., 0], lut)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def train_pipeline(img, mask):
    if random.random() < 0.5:                                   # RandomScale(scale_limit=[-0.5, 1.0]), p 0.5
        f = random.uniform(0.5, 2.0)
        h, w = img.shape[:2]
        size = (int(w * f), int(h * f))
        img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    h, w = img.shape[:2]                                        # PadIfNeeded, reflect-101, centred
    if h < CROP or w < CROP:
        ph, pw = max(0, CROP - h), max(0, CROP - w)
        border = (ph // 2, ph - ph // 2, pw // 2, pw - pw // 2)
        img = cv2.copyMakeBorder(img, *border, cv2.BORDER_REFLECT_101)
        mask = cv2.copyMakeBorder(mask, *border, cv2.BORDER_REFLECT_101)
        h, w = img.shape[:2]
    y = int((h - CROP + 1) * random.random())                   # RandomCrop
    x = int((w - CROP + 1) * random.random())
    img = img[y:y + CROP, x:x + CROP]
    mask = mask[y:y + CROP, x:x + CROP]
    if random.random() < 0.5:                                   # ColorJitter, p 0.5
        factors = [random.uniform(0.5, 1.5), random.uniform(0.5, 1.5), random.uniform(0.5, 1.5), random.uniform(-0.2, 0.2)]
        order = [0, 1, 2, 3]
        random.shuffle(order)
        img = np.ascontiguousarray(img)
        for k in order:
            img = (brightness, contrast, saturation, hue)[k](img, factors[k])
    if random.random() < 0.5:                                   # HorizontalFlip
        img = cv2.flip(np.ascontiguousarray(img), 1)
        mask = np.ascontiguousarray(mask[:, ::-1])
    img = img.astype(np.float32)                                # Normalize
    img -= MEAN
    img *= INV_STD
    return torch.from_numpy(img.transpose(2, 0, 1)), torch.from_numpy(np.ascontiguousarray(mask).astype(np.int64))


class Cityscapes(Dataset):
    def __init__(self, root):
        self.images = sorted(glob.glob(os.path.join(root, "leftImg8bit", "train", "*", "*_leftImg8bit.png")))
        self.masks = [p.replace("leftImg8bit", "gtFine", 1).replace("_leftImg8bit.png", "_gtFine_labelIds.png") for p in self.images]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = cv2.cvtColor(cv2.imread(self.images[i], cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        mask = cv2.LUT(cv2.imread(self.masks[i], cv2.IMREAD_GRAYSCALE), LABEL_TO_TRAIN)
        return train_pipeline(img, mask)


def worker_init(worker_id):
    cv2.setNumThreads(OPENCV_THREADS)
    random.seed(torch.initial_seed() % 2**32)


OPENCV_THREADS = 1


def main():
    global OPENCV_THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="/tmp/fastseg-data-bench")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--opencv-threads", type=int, default=1)
    parser.add_argument("--stage-runs", type=int, default=9)
    args = parser.parse_args()
    OPENCV_THREADS = args.opencv_threads
    cv2.setNumThreads(OPENCV_THREADS)
    ds = Cityscapes(args.root)
    if len(ds) == 0:
        raise SystemExit(f"no images under {args.root}; run the C# benchmark first (it generates them)")
    print(f"{len(ds)} pairs; OpenCV {cv2.__version__}, torch {torch.__version__}, numpy {np.__version__}; "
          f"batch {args.batch}, OpenCV threads {OPENCV_THREADS}")
    # Single-thread cost of each stage: fastest of `stage_runs` runs after a warm-up, with the median.
    def stage(fn):
        fn()
        times = []
        for _ in range(args.stage_runs):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        return f"{times[0]:.1f} ms (median {times[len(times) // 2]:.1f})"

    def load_raw():
        img = cv2.cvtColor(cv2.imread(ds.images[0], cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        return img, cv2.LUT(cv2.imread(ds.masks[0], cv2.IMREAD_GRAYSCALE), LABEL_TO_TRAIN)

    print("stage decode image: " + stage(lambda: cv2.cvtColor(cv2.imread(ds.images[0], cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)))
    print("stage decode mask + map: " + stage(load_raw) + " (includes the image decode)")
    img0, mask0 = load_raw()

    def fixed_pipeline(factor, jitter):
        # The training pipeline with its random choices fixed: scale by `factor`, pad, crop, jitter (or not), flip.
        def run():
            img, mask = img0, mask0
            if factor != 1.0:
                h, w = img.shape[:2]
                size = (int(w * factor), int(h * factor))
                img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
                mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
            h, w = img.shape[:2]
            if h < CROP or w < CROP:
                ph, pw = max(0, CROP - h), max(0, CROP - w)
                border = (ph // 2, ph - ph // 2, pw // 2, pw - pw // 2)
                img = cv2.copyMakeBorder(img, *border, cv2.BORDER_REFLECT_101)
                mask = cv2.copyMakeBorder(mask, *border, cv2.BORDER_REFLECT_101)
                h, w = img.shape[:2]
            y = int((h - CROP + 1) * random.random())
            x = int((w - CROP + 1) * random.random())
            img = img[y:y + CROP, x:x + CROP]
            mask = mask[y:y + CROP, x:x + CROP]
            if jitter:
                img = np.ascontiguousarray(img)
                for k, f in zip((2, 0, 3, 1), (1.3, 0.8, 0.1, 1.2)):
                    img = (brightness, contrast, saturation, hue)[k](img, f)
            img = cv2.flip(np.ascontiguousarray(img), 1)
            mask = np.ascontiguousarray(mask[:, ::-1])
            img = img.astype(np.float32)
            img -= MEAN
            img *= INV_STD
            return torch.from_numpy(img.transpose(2, 0, 1)), torch.from_numpy(np.ascontiguousarray(mask).astype(np.int64))
        return run

    for name, factor, jitter in (("crop only", 1.0, False), ("scale 2.0 + jitter", 2.0, True), ("scale 0.75 + pad + jitter", 0.75, True)):
        print(f"stage augment + normalise ({name}): " + stage(fixed_pipeline(factor, jitter)))

    for workers in [int(w) for w in args.workers.split(",")]:
        loader = DataLoader(ds, batch_size=args.batch, shuffle=True, drop_last=True, num_workers=workers,
                            worker_init_fn=worker_init)
        rates = []
        for r in range(args.repeats + 1):
            start = time.perf_counter()
            first = None
            images = first_size = 0
            for images_batch, masks_batch in loader:
                if first is None:
                    first = time.perf_counter() - start
                    first_size = images_batch.shape[0]
                images += images_batch.shape[0]
                del images_batch, masks_batch
            total = time.perf_counter() - start
            if r == 0:
                print(f"workers {workers}: warm-up epoch {images / total:.2f} images/s (whole epoch)")
                continue
            rate = (images - first_size) / (total - first)
            rates.append(rate)
            print(f"workers {workers}: epoch {r}: {rate:.2f} images/s steady ({images} images, {total:.2f} s, "
                  f"first batch after {first:.2f} s)")
        rates.sort()
        print(f"RESULT python workers={workers} best={rates[-1]:.2f} median={statistics.median(rates):.2f} images/s")


if __name__ == "__main__":
    main()

"""Writes tests/FastSeg.Training.Tests/Fixtures/training.json: PyTorch 1.13 values for the training pieces.

Run with Debian's interpreter (it has python3-torch 1.13):  /usr/bin/python3 tools/make_training_fixtures.py

Every case stores its inputs and the expected outputs. The expected values follow the reference trainer
(zh320/realtime-semantic-segmentation-pytorch: core/loss.py, core/seg_trainer.py, utils/model_ema.py, models/stdc.py),
re-expressed here in plain PyTorch calls; where FastSeg deliberately departs from it (see the README's list of
deviations) both the reference's value and FastSeg's are written, under separate keys.

mIoU: torchmetrics is not available to this interpreter, so the reference's metric — torchmetrics'
MulticlassJaccardIndex(num_classes, average='none', ignore_index=255) — is recomputed the way torchmetrics does it:
ignored pixels are dropped, the prediction is the argmax over the class dimension, the confusion matrix is
bincount(target * C + prediction) reshaped to C x C (rows = target), IoU = diag / (row sum + column sum - diag), and a
class whose union is empty scores 0. The score is the plain mean over all classes. (torchmetrics does the division in
float32; it is done in float64 here, as FastSeg does.)
"""
import copy
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import fixture_io  # noqa: E402

torch.set_num_threads(2)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "FastSeg.Training.Tests", "Fixtures", "training.json")
IGNORE = 255


def gen(seed):
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed, scale=1.0, dtype=torch.float32):
    """Normal samples rounded to multiples of 1/64: exact in float32 and short in JSON."""
    x = torch.randn(*shape, generator=gen(seed), dtype=torch.float64) * scale
    return (torch.round(x * 64) / 64).to(dtype)


def labels_with_ignore(shape, num_classes, seed, ignore_fraction=0.2):
    g = gen(seed)
    target = torch.randint(0, num_classes, shape, generator=g)
    ignored = torch.rand(shape, generator=g) < ignore_fraction
    target[ignored] = IGNORE
    return target


# ---- cross-entropy --------------------------------------------------------------------------------------------------

def ce_cases(cases):
    weights = [0.5, 1.0, 2.0, 1.5]
    logits = randn(2, 4, 5, 6, seed=1, scale=2, dtype=torch.float64)
    target = labels_with_ignore((2, 5, 6), 4, 2)
    w64 = torch.tensor(weights, dtype=torch.float64)
    cases["ce_f64"] = {
        "logits": logits, "target": target, "weights": weights,
        "weighted_mean": F.cross_entropy(logits, target, weight=w64, ignore_index=IGNORE),
        "weighted_sum": F.cross_entropy(logits, target, weight=w64, ignore_index=IGNORE, reduction="sum"),
        "weighted_none": F.cross_entropy(logits, target, weight=w64, ignore_index=IGNORE, reduction="none"),
        "mean": F.cross_entropy(logits, target, ignore_index=IGNORE),
    }
    logits32 = logits.float()
    cases["ce_f32"] = {
        "logits": logits32, "target": target, "weights": weights,
        # the reference builds the weights with torch.Tensor(config.class_weights): float32
        "weighted_mean": F.cross_entropy(logits32, target, weight=torch.Tensor(weights), ignore_index=IGNORE),
        "mean": F.cross_entropy(logits32, target, ignore_index=IGNORE),
    }


# ---- OHEM -----------------------------------------------------------------------------------------------------------

def ohem_reference(logits, labels, keep_probability=0.7, ignore=IGNORE):
    """The reference's OhemCELoss.forward, with its threshold left on the logits' device instead of forced to CUDA."""
    threshold = -torch.log(torch.tensor(keep_probability, dtype=torch.float))
    n_min = labels[labels != ignore].numel() // 16
    per_pixel = F.cross_entropy(logits, labels, ignore_index=ignore, reduction="none").view(-1)
    hard = per_pixel[per_pixel > threshold]
    top_k = hard.numel() < n_min
    if top_k:
        hard, _ = per_pixel.topk(n_min)
    return torch.mean(hard), hard.numel(), top_k, threshold.item()


def ohem_case(logits, target):
    logits = logits.clone().requires_grad_(True)
    loss, kept, top_k, threshold = ohem_reference(logits, target)
    loss.backward()
    return {"logits": logits.detach(), "target": target, "loss": loss.detach(), "kept": kept, "top_k": top_k,
            "threshold": threshold, "grad": logits.grad}


def ohem_cases(cases):
    # enough hard pixels: random logits give the true class about 1/C probability
    target = labels_with_ignore((2, 8, 8), 5, 11)
    logits = randn(2, 5, 8, 8, seed=12)
    cases["ohem_hard_f32"] = ohem_case(logits, target)
    cases["ohem_hard_f64"] = ohem_case(logits.double(), target)
    # too few hard pixels: confident, correct logits except at three pixels, so the top-n_min branch is taken
    target = target.clone()
    safe = target.clamp(max=4)
    confident = randn(2, 5, 8, 8, seed=13, scale=0.1) + 6 * F.one_hot(safe, 5).permute(0, 3, 1, 2)
    for (n, y, x) in [(0, 1, 1), (0, 5, 2), (1, 3, 7)]:
        confident[n, :, y, x] = torch.tensor([4.0, -2.0, 1.0, 0.5, -1.0])
        target[n, y, x] = 1
    case = ohem_case(confident, target)
    assert case["top_k"] and case["kept"] > 3, case["kept"]
    cases["ohem_topk_f32"] = case
    assert cases["ohem_hard_f32"]["top_k"] is False


# ---- auxiliary losses -----------------------------------------------------------------------------------------------

def aux_cases(cases):
    mask = labels_with_ignore((2, 16, 16), 5, 21)
    logits = randn(2, 5, 16, 16, seed=22)
    aux = [randn(2, 5, 8, 8, seed=23), randn(2, 5, 4, 4, seed=24)]
    coef = [0.4, 1.0]

    def nearest(size):
        return F.interpolate(mask.unsqueeze(1).float(), size, mode="nearest").squeeze(1).long()

    def ce(p, m):
        return F.cross_entropy(p, m, ignore_index=IGNORE)

    def ohem(p, m):
        return ohem_reference(p, m)[0]

    def total(loss_fn, coefficients, resize):
        loss = loss_fn(logits, mask)
        for i, a in enumerate(aux):
            if resize == "mask":
                term = loss_fn(a, nearest(a.shape[2:]))
            else:
                term = loss_fn(F.interpolate(a, mask.shape[1:], mode="bilinear", align_corners=False), mask)
            loss += coefficients[i] * term
        return loss

    cases["aux"] = {
        "mask": mask, "logits": logits, "aux0": aux[0], "aux1": aux[1], "coef": coef,
        "mask8": nearest((8, 8)), "mask4": nearest((4, 4)),
        "ce_nearest": total(ce, coef, "mask"),
        "ce_nearest_unit": total(ce, torch.ones(len(aux)), "mask"),  # aux_coef=None becomes torch.ones
        "ohem_nearest": total(ohem, coef, "mask"),
        "ce_bilinear": total(ce, coef, "logits"),
    }


# ---- STDC detail targets and loss ---------------------------------------------------------------------------------

def laplacian_maps(lbl):
    """models/stdc.py LaplacianConv: the 3x3 Laplacian at strides 1, 2, 4, nearest back to full size, stacked."""
    kernel = torch.tensor([[[[-1., -1., -1.], [-1., 8., -1.], [-1., -1., -1.]]]])
    size = lbl.size()[2:]
    maps = [F.conv2d(lbl, kernel, stride=1, padding=1)]
    for s in (2, 4):
        maps.append(F.interpolate(F.conv2d(lbl, kernel, stride=s, padding=1), size, mode="nearest"))
    return torch.cat(maps, dim=1)


def dice(pred, target, smooth=1.0):
    pred = torch.flatten(pred, 1)
    target = torch.flatten(target, 1)
    inter = torch.sum(pred * target, dim=1)
    return torch.mean(1 - ((2 * inter + smooth) / (pred.sum(1) + target.sum(1) + smooth)))


def detail_loss(logits, target, dice_coef, bce_coef, sigmoid):
    p = torch.sigmoid(logits) if sigmoid else logits
    return dice_coef * dice(p, target) + bce_coef * F.binary_cross_entropy_with_logits(logits, target)


def detail_cases(cases):
    # a blocky label map (classes 0-4) with an ignored rectangle, 22 x 18 so the strided maps have odd sizes
    coarse = torch.randint(0, 5, (2, 1, 6, 5), generator=gen(31)).float()
    mask = F.interpolate(coarse, (22, 18), mode="nearest").squeeze(1).long()
    mask[0, 3:9, 10:16] = IGNORE
    mask[1, 15:22, 0:5] = IGNORE
    lap = laplacian_maps(mask.unsqueeze(1).float())

    # FastSeg's default fusion: fixed weights, summed in this order
    fused = lap[:, 0:1] * 0.6 + lap[:, 1:2] * 0.3 + lap[:, 2:3] * 0.1
    target_fixed = (fused > 0.1).float()

    # the reference's fusion: the network's detail_conv (1x1, 3 -> 1, no bias), then in-place thresholding
    torch.manual_seed(32)
    detail_conv = nn.Conv2d(3, 1, 1, bias=False)
    with torch.no_grad():
        target_conv = detail_conv(lap)
        target_conv[target_conv > 0.1] = 1
        target_conv[target_conv <= 0.1] = 0

    detail_logits = randn(2, 1, 6, 5, seed=33, scale=2)
    up = F.interpolate(detail_logits, (22, 18), mode="bilinear", align_corners=True)
    cases["detail"] = {
        "mask": mask, "laplacian": lap, "target_fixed": target_fixed,
        "conv_weight": detail_conv.weight.detach(), "target_conv": target_conv,
        "logits": detail_logits,
        "loss_sigmoid": detail_loss(up, target_fixed, 1.0, 1.0, True),
        "loss_sigmoid_coef": detail_loss(up, target_fixed, 0.5, 2.0, True),
        "loss_reference": detail_loss(up, target_conv, 1.0, 1.0, False),  # Dice on raw logits, as the reference
    }


# ---- knowledge distillation ---------------------------------------------------------------------------------------

def kd_cases(cases):
    T, coef = 4.0, 0.5
    student = randn(2, 5, 8, 8, seed=41, scale=3).requires_grad_(True)
    teacher = randn(2, 5, 12, 12, seed=42, scale=3)
    resized = F.interpolate(teacher, (8, 8), mode="bilinear", align_corners=False)

    def kl(reduction):
        log_p = F.log_softmax(student / T, dim=1)
        q = F.softmax(resized.detach() / T, dim=1)
        if reduction == "pixelmean":
            value = F.kl_div(log_p, q, reduction="sum") / (student.shape[0] * student.shape[2] * student.shape[3])
        else:
            value = F.kl_div(log_p, q, reduction=reduction)
        return coef * (value * T ** 2)

    kl_mean = kl("mean")
    kl_mean.backward()
    cases["kd_f32"] = {
        "student": student.detach(), "teacher": teacher, "teacher_resized": resized, "temperature": T, "coef": coef,
        "kl_mean": kl_mean.detach(), "grad_kl_mean": student.grad,
        "kl_batchmean": kl("batchmean").detach(), "kl_pixelmean": kl("pixelmean").detach(),
        "mse": coef * F.mse_loss(student.detach(), resized),
    }
    s64 = student.detach().double()
    t64 = randn(2, 5, 8, 8, seed=43, scale=3, dtype=torch.float64)
    cases["kd_f64"] = {
        "student": s64, "teacher": t64,
        "kl_mean": F.kl_div(F.log_softmax(s64 / 4.0, dim=1), F.softmax(t64 / 4.0, dim=1)) * 4.0 ** 2,
        "mse": F.mse_loss(s64, t64),
    }


# ---- metrics --------------------------------------------------------------------------------------------------------

def confusion(preds_or_logits, target, num_classes):
    preds = preds_or_logits.argmax(dim=1) if preds_or_logits.is_floating_point() else preds_or_logits
    keep = target != IGNORE
    t, p = target[keep], preds[keep]
    return torch.bincount(t * num_classes + p, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def metric_cases(cases):
    C = 5
    batches = []
    total = torch.zeros(C, C, dtype=torch.long)
    for b in range(3):
        logits = randn(2, C, 6, 7, seed=51 + b)
        logits[:, 4] = -10.0  # class 4 is never predicted ...
        target = labels_with_ignore((2, 6, 7), 3, 61 + b, 0.25)  # ... nor labelled; class 3 is predicted, never labelled
        batches.append({"logits": logits, "target": target})
        total += confusion(logits, target, C)
    m = total.double()
    tp = torch.diag(m)
    union = m.sum(0) + m.sum(1) - tp
    iou = torch.where(union > 0, tp / union.clamp(min=1), torch.zeros_like(tp))
    assert union[4] == 0 and union[3] > 0 and tp[3] == 0
    cases["metrics"] = {
        "num_classes": C, "batches": batches, "confusion": total, "iou": iou, "miou": iou.mean().item(),
        "pixel_accuracy": (tp.sum() / m.sum()).item(),
        "class_accuracy": torch.where(m.sum(1) > 0, tp / m.sum(1).clamp(min=1), torch.zeros_like(tp)),
    }


# ---- EMA ------------------------------------------------------------------------------------------------------------

class ReferenceEma:
    """utils/model_ema.py ModelEmaV2 with use_ema=True: a deep copy updated with decay clamp(itrs / total, 0, 1)."""

    def __init__(self, model, total_itrs):
        self.ema = copy.deepcopy(model).eval()
        self.total_itrs = total_itrs

    @torch.no_grad()
    def update(self, model, cur_itrs):
        decay = min(max(cur_itrs / self.total_itrs, 0), 1)
        for e, m in zip(self.ema.state_dict().values(), model.state_dict().values()):
            e.copy_(decay * e + (1. - decay) * m)


def ema_cases(cases):
    torch.manual_seed(71)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    total_itrs = 4
    ema = ReferenceEma(model, total_itrs)
    steps = []
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    g = gen(72)
    for itrs in range(1, 6):  # the last two updates have decay 1: the average stops moving
        model.train()
        x = torch.randn(2, 3, 5, 5, generator=g)
        loss = model(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema.update(model, itrs)
        steps.append({
            "iteration": itrs,
            "model": {k: v.clone() for k, v in model.state_dict().items()},
            "ema": {k: v.clone() for k, v in ema.ema.state_dict().items()},
        })
    cases["ema"] = {"total_iterations": total_itrs, "initial": initial, "steps": steps,
                    "keys": list(initial.keys())}


def _shortest_float32(x):
    """The shortest decimal that reads back as the same float32 (keeps the fixture small)."""
    target = struct.pack("<f", x)
    for digits in range(1, 10):
        y = float("%.*g" % (digits, x))
        if struct.pack("<f", y) == target:
            return y
    return x


def compact(v):
    """Tensors as fixture_io's dicts, float32 values in their shortest exact decimal form; other values unchanged."""
    if isinstance(v, torch.Tensor):
        e = fixture_io.tensor(v)
        if e["dtype"] == "float32":
            e["data"] = [_shortest_float32(x) if isinstance(x, float) else x for x in e["data"]]
        return e
    if isinstance(v, dict):
        return {k: compact(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [compact(x) for x in v]
    return v


def main():
    cases = {}
    ce_cases(cases)
    ohem_cases(cases)
    aux_cases(cases)
    detail_cases(cases)
    kd_cases(cases)
    metric_cases(cases)
    ema_cases(cases)
    fixture_io.write(OUT, compact(cases))


if __name__ == "__main__":
    main()

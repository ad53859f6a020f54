"""Writes tests/FastSeg.Torch.Tests/Fixtures/modules.json: the state-dict layout of a nested test network as PyTorch
1.13 produces it, randomised weights, and its outputs in eval and train mode (with the running statistics after the
train-mode pass), and the loss modules' outputs and input gradients. Run with Debian's interpreter:
/usr/bin/python3 tools/make_module_fixtures.py
"""
import os

import torch
from torch import nn

import fixture_io

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "FastSeg.Torch.Tests", "Fixtures", "modules.json")


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act = nn.PReLU(cout)
        self.register_buffer("scale", torch.ones(1))
        self.register_buffer("cache", torch.zeros(1), persistent=False)

    def forward(self, x):
        return self.act(self.bn1(self.conv1(x))) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.layers = nn.ModuleList([Block(8, 8), Block(8, 16)])
        self.heads = nn.ModuleDict({"seg": nn.Conv2d(16, 5, 1), "aux": nn.Conv2d(16, 5, (1, 3), padding=(0, 1))})
        self.up = nn.ConvTranspose2d(5, 5, 4, stride=2, padding=1, groups=5, bias=False)
        self.norm = nn.BatchNorm2d(5, affine=False)
        self.fc = nn.Linear(5, 3, bias=False)

    def forward(self, x):
        x = self.stem(x)
        for block in self.layers:
            x = block(x)
        x = self.heads["seg"](x) + self.heads["aux"](x)
        x = self.norm(self.up(x))
        return self.fc(x.mean((2, 3)))


def loss_cases():
    """The loss modules with their options: output and the input's gradient for a given output gradient, and the
    module's state-dict keys (weights are buffers). A generator of its own keeps the network fixture above unchanged."""
    F = nn.functional
    g = torch.Generator().manual_seed(14)

    def randn(*shape, scale=1.0):
        return torch.randn(*shape, generator=g) * scale

    logits = randn(2, 4, 3, 5, scale=2)
    target = torch.randint(0, 4, (2, 3, 5), generator=g)
    ignored = target.clone()
    ignored[0, 0, :2] = 255
    ignored[1, 2, 4] = 255
    cw = torch.tensor([0.5, 1.0, 2.0, 1.5])
    logp = F.log_softmax(randn(2, 4, 3, 5), 1)
    a, b = randn(3, 4), randn(3, 4)
    x = randn(3, 4, scale=2)
    t = torch.rand(3, 4, generator=g)
    t[0] = torch.tensor([0.0, 1.0, 1.0, 0.0])
    pw = torch.tensor([1.0, 2.0, 0.5, 3.0])
    wb = torch.rand(3, 4, generator=g) + 0.5
    kl_in = F.log_softmax(randn(3, 5), 1)
    kl_t = F.softmax(randn(3, 5), 1)
    specs = {
        "cross_entropy_default": (nn.CrossEntropyLoss(), logits, target, {}),
        "cross_entropy_weighted": (nn.CrossEntropyLoss(weight=cw, ignore_index=255, label_smoothing=0.1), logits, ignored, {"weight": cw}),
        "cross_entropy_sum": (nn.CrossEntropyLoss(ignore_index=255, reduction="sum"), logits, ignored, {}),
        "cross_entropy_none": (nn.CrossEntropyLoss(ignore_index=255, reduction="none"), logits, ignored, {}),
        "nll_weighted": (nn.NLLLoss(weight=cw, ignore_index=255), logp, ignored, {"weight": cw}),
        "nll_none": (nn.NLLLoss(reduction="none"), logp, target, {}),
        "mse_mean": (nn.MSELoss(), a, b, {}),
        "mse_sum": (nn.MSELoss(reduction="sum"), a, b, {}),
        "l1_mean": (nn.L1Loss(), a, b, {}),
        "l1_none": (nn.L1Loss(reduction="none"), a, b, {}),
        "bce_weighted": (nn.BCELoss(weight=wb), torch.sigmoid(x), t, {"weight": wb}),
        "bce_with_logits_default": (nn.BCEWithLogitsLoss(), x, t, {}),
        "bce_with_logits_weighted": (nn.BCEWithLogitsLoss(weight=wb, reduction="sum", pos_weight=pw), x, t, {"weight": wb, "pos_weight": pw}),
        "kl_div_default": (nn.KLDivLoss(), kl_in, kl_t, {}),
        "kl_div_batchmean": (nn.KLDivLoss(reduction="batchmean"), kl_in, kl_t, {}),
        "kl_div_log_target": (nn.KLDivLoss(reduction="none", log_target=True), kl_in, kl_t.log(), {}),
    }
    cases = {}
    for name, (module, inp, tgt, extra) in specs.items():
        leaf = inp.detach().clone().requires_grad_()
        out = module(leaf, tgt)
        grad_out = randn(*out.shape, scale=1.5) if out.dim() > 0 else torch.tensor(1.5)
        out.backward(grad_out)
        cases[name] = dict(input=inp.detach(), target=tgt, output=out.detach(), grad_output=grad_out, input_grad=leaf.grad,
                           state_keys=list(module.state_dict().keys()), **extra)
    return cases


def main():
    torch.manual_seed(7)
    net = Net()
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            elif name.endswith("running_mean"):
                t.normal_(0, 0.2)
            elif t.is_floating_point() and not name.endswith("scale"):
                t.normal_(0, 0.3)
            elif name.endswith("scale"):
                t.fill_(1.5)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(2, 3, 16, 20)
    net.eval()
    eval_out = net(x)
    net.train()
    train_out = net(x)
    cases = {
        "layout": {
            "keys": list(state.keys()),
            "shapes": [list(t.shape) for t in state.values()],
            "dtypes": [fixture_io.tensor(t)["dtype"] for t in state.values()],
            "parameters": [n for n, _ in net.named_parameters()],
            "buffers": [n for n, _ in net.named_buffers()],
            "modules": [n for n, _ in net.named_modules()],
        },
        "weights": {k: v for k, v in state.items()},
        "io": {"input": x, "eval_output": eval_out, "train_output": train_out},
        "after_train": {k: v for k, v in net.state_dict().items() if "running" in k or "num_batches" in k},
        "losses": loss_cases(),
    }
    fixture_io.write(OUT, cases)


if __name__ == "__main__":
    main()

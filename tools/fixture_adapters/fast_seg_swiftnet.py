"""Fast_Seg's SwiftNet returns a list ([main] in eval, [main, dsn] in training) with the main logits at 1/4; the zoo's
network resizes them to the input as Fast_Seg's CriterionOhemDSN and val.py do (bilinear, align_corners=True).

train_outputs compares the train-mode main logits only: the dsn head ends in Dropout2d, whose random mask cannot be
reproduced, so the fixture builds the C# network without aux (dsn not evaluated) and runs Fast_Seg's dsn in eval mode
(no dropout, and its batch-norm statistics stay untouched, as on the C# side)."""
import torch.nn.functional as F


def _full(logits, x):
    return F.interpolate(logits, size=x.shape[2:], mode="bilinear", align_corners=True)


def eval_output(model, x):
    return _full(model(x)[0], x)


def train_outputs(model, x):
    model.dsn.eval()
    main, _ = model(x)
    return _full(main, x), []

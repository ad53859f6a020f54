"""Fast_Seg's PSPNet returns a list ([main] in eval, [main, dsn] in training) at about 1/8 of the input; the zoo's
network returns the main logits resized to the input the way Fast_Seg's CriterionOhemDSN and val.py resize them
(bilinear, align_corners=True), and the dsn logits unchanged as its auxiliary output."""
import torch.nn.functional as F


def _full(logits, x):
    return F.interpolate(logits, size=x.shape[2:], mode="bilinear", align_corners=True)


def eval_output(model, x):
    return _full(model(x)[0], x)


def train_outputs(model, x):
    main, dsn = model(x)
    return _full(main, x), [dsn]

"""Fast_Seg's DFANet returns [main@1/4, dsn1@1/4, dsn2@1/8] in train and eval alike. The zoo returns the main logits
resized to the input (bilinear, align_corners=True, as CriterionDFANet and val.py resize them); dsn1 and dsn2 are its
aux outputs in training with aux enabled, but they pass through Dropout2d(0.1), so train-mode values cannot be compared.
train_outputs therefore matches the zoo built WITHOUT aux: main logits only, and the dsn heads' batch-norm statistics
put back as they were (the zoo runs the dsn heads only when it returns them)."""
import torch.nn.functional as F


def eval_output(model, x):
    return F.interpolate(model(x)[0], size=x.shape[2:], mode="bilinear", align_corners=True)


def train_outputs(model, x):
    saved = {k: v.clone() for k, v in model.state_dict().items() if k.startswith(("dsn1.", "dsn2."))}
    out = model(x)
    for k, v in model.state_dict().items():
        if k in saved:
            v.copy_(saved[k])
    return F.interpolate(out[0], size=x.shape[2:], mode="bilinear", align_corners=True), []

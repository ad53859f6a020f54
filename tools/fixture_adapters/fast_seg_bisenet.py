"""Fast_Seg's BiSeNet returns log_softmax of its main head at 1/8 in eval (is_training=False) and, with
is_training=True, the three feature maps the heads should have been applied to. The zoo returns the main head's logits
resized to the input (bilinear, align_corners=True) and, in training with aux, the two auxiliary heads' logits (at
1/8, heads[0] upsampled x2 by its scale) as TorchSeg applies them."""
import torch.nn.functional as F


def _features(model, x):
    # With is_training set, Fast_Seg's forward stops before the heads and returns [refined 1/16, refined 1/8, ffm].
    flag = model.is_training
    model.is_training = True
    try:
        return model(x)
    finally:
        model.is_training = flag


def _main(model, feats, x):
    return F.interpolate(model.heads[2](feats[2]), size=x.shape[2:], mode="bilinear", align_corners=True)


def eval_output(model, x):
    return _main(model, _features(model, x), x)


def train_outputs(model, x):
    feats = _features(model, x)
    return _main(model, feats, x), [model.heads[0](feats[0]), model.heads[1](feats[1])]

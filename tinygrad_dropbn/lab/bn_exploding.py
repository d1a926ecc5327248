"""Batch norm against exploding gradients."""
import numpy as np

import tinygrad_dropbn as tg
from .core import Spec
from .problems import spiral

TITLE = "Batch norm against exploding gradients"
CLAIM = ("In a deep ReLU MLP whose weights start too large, the gradient explodes on its way "
         "back to the first layer; with batch norm its size no longer depends on the weights' "
         "scale, so large weights do not make it explode.")
ARTICLE = "Batch norm fights exploding gradients as well as vanishing ones."
DEPTH, GAIN = 16, 4.0
SETUP = (f"MLP 2-{'-'.join(['32'] * DEPTH)}-3 with ReLU, PyTorch's default initialisation "
         f"and the same weights times {GAIN}, with and without batch norm before each "
         "activation; one training-mode batch of 128 spiral points, cross-entropy, backward. "
         "The statistic is log10 of the RMS gradient dL/dz at layer 1's Linear output over "
         f"that at layer {DEPTH}'s: its growth when the weights are {GAIN} times larger.")
CAPTION = ("Look at the first two panels: large weights add orders of magnitude to the "
           "gradient without batch norm and nothing with it.")
CHECKS = (
    Spec("plain", f"without batch norm: log10 ratio at gain {GAIN} - at gain 1", ">", 2.0,
         "log10"),
    Spec("bn", f"with batch norm: |log10 ratio at gain {GAIN} - at gain 1|", "<", 0.3,
         "log10"),
    Spec("bn_flat", "with batch norm: |log10 ratio|, layer 1 / last", "<", 1.0, "log10",
         required=False),
)
PARTLY = ("Batch norm makes the gradient independent of the weights' scale, so too-large "
          "weights no longer explode it; but at initialisation a deep batch-norm network's "
          "gradient still grows tenfold or more towards the input whatever the weights.")


def measure(seed: int, lib) -> dict:
    x, y, _, _ = spiral(seed)
    ratio = {}
    for batchnorm in (False, True):
        for gain in (1.0, GAIN):
            tg.manual_seed(seed)
            model = lib.mlp(2, [32] * DEPTH, 3, batchnorm=batchnorm, gain=gain)
            _, grads = lib.trace(model, x[:128], y[:128])
            ratio[batchnorm, gain] = float(np.log10(grads[0] / grads[-1]))
    return {"plain": ratio[False, GAIN] - ratio[False, 1.0],
            "bn": abs(ratio[True, GAIN] - ratio[True, 1.0]), "bn_flat": abs(ratio[True, 1.0])}

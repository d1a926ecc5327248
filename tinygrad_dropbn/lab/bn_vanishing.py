"""Batch norm against vanishing gradients in deep sigmoid and tanh networks."""
import numpy as np

import tinygrad_dropbn as tg
from .core import Spec
from .problems import spiral

TITLE = "Batch norm against vanishing gradients"
CLAIM = ("In a deep sigmoid or tanh MLP the gradient shrinks by orders of magnitude on its way "
         "back to the first layer; batch norm between each linear layer and its activation "
         "stops it vanishing (at initialisation it even grows towards the input).")
ARTICLE = "Batch norm fights vanishing gradients (sigmoid and tanh saturate)."
DEPTH = 12
SETUP = (f"MLP 2-{'-'.join(['32'] * DEPTH)}-3 with PyTorch's default initialisation, with and "
         "without batch norm before each activation, same initial weights; one training-mode "
         "batch of 128 spiral points, cross-entropy, backward. The statistic is log10 of the "
         f"RMS gradient dL/dz at layer 1's Linear output over that at layer {DEPTH}'s.")
CAPTION = ("Look at the log10 ratios: below -2 (a hundredfold loss) without batch norm, near "
           "0 with it.")
CHECKS = tuple(
    spec for act in ("sigmoid", "tanh") for spec in (
        Spec(f"{act}_plain", f"{act} without batch norm: log10 gradient ratio, layer 1 / "
             f"{DEPTH}", "<", -1.5, "log10"),
        Spec(f"{act}_bn", f"{act} with batch norm: log10 gradient ratio, layer 1 / {DEPTH}",
             ">", -1.0, "log10")))


def measure(seed: int, lib) -> dict:
    x, y, _, _ = spiral(seed)
    result = {}
    for activation in ("sigmoid", "tanh"):
        for batchnorm in (False, True):
            tg.manual_seed(seed)
            model = lib.mlp(2, [32] * DEPTH, 3, activation=activation, batchnorm=batchnorm)
            _, grads = lib.trace(model, x[:128], y[:128])
            result[f"{activation}_{'bn' if batchnorm else 'plain'}"] = float(
                np.log10(grads[0] / grads[-1]))
    return result

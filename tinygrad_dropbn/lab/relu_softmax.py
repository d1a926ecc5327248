"""ReLU's large outputs overflow a later softmax without batch norm."""
import numpy as np

import tinygrad_dropbn as tg
from .core import Spec

TITLE = "Without batch norm, ReLU's large outputs overflow the softmax"
CLAIM = ("Fed inputs in raw units (thousands), a ReLU MLP produces logits so large that the "
         "softmax exp(z_k) / sum(exp(z_j)) overflows in float32 for most examples; batch norm "
         "before each ReLU keeps the logits small enough for it.")
ARTICLE = "For ReLU, large positive inputs can overflow later softmax layers."
SETUP = ("20 features uniform in [0, 10000) (raw values such as prices), 256 examples; MLP "
         "20-64-64-10 with ReLU, with and without batch norm before each activation, same "
         "initial weights; training-mode logits, softmax computed as written (no max "
         "subtraction) in float32, where exp overflows above 88.7.")
CAPTION = ("Look at the fraction of examples whose softmax is inf or NaN: most without batch "
           "norm, none with it.")
CHECKS = (
    Spec("plain", "without batch norm: fraction of examples whose softmax overflows", ">", 0.5,
         "fraction"),
    Spec("bn", "with batch norm: fraction of examples whose softmax overflows", "<", 0.01,
         "fraction"),
)


def overflows(logits: np.ndarray) -> np.ndarray:
    """Whether the softmax of each row, computed naively in float32, is not finite."""
    exp = np.exp(logits.astype(np.float32))
    return ~np.isfinite(exp / exp.sum(axis=1, keepdims=True)).all(axis=1)


def measure(seed: int, lib) -> dict:
    x = np.random.default_rng(seed).uniform(0, 10000, size=(256, 20)).astype(np.float32)
    result = {}
    for batchnorm in (False, True):
        tg.manual_seed(seed)
        model = lib.mlp(20, [64, 64], 10, batchnorm=batchnorm)
        result["bn" if batchnorm else "plain"] = float(np.mean(overflows(
            lib.outputs(model, x, train_mode=True))))
    return result

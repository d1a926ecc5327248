"""Dropout's backward: the kept units' scale, zero for the dropped ones."""
import numpy as np

from .core import Spec

TITLE = "Dropout's backward is its mask times its scale"
CLAIM = ("The gradient of dropout is 1/(1 - p) for kept units and 0 for dropped ones "
         "(inverted), 1 and 0 for plain dropout, and a fraction p of the units is dropped.")
ARTICLE = ("Plain dropout: dy_i/dx_i = 1 kept, 0 dropped; inverted dropout: 1/(1 - p) kept, "
           "0 dropped.")
P = 0.3
SETUP = (f"X (256 x 64) from U(0.5, 1.5), p = {P} (so 1/(1 - p) = {1 / (1 - P):.3f} and "
         f"1/p = {1 / P:.3f} differ); forward, then backward of the sum; the units with a zero "
         "output are the dropped ones.")
CAPTION = ("Look for zeros in the first three panels (exact gradients) and a drop rate "
           "within 0.02 of p in the last.")
CHECKS = (
    Spec("inverted_kept", "inverted: largest |dx - 1/(1 - p)| on kept units", "<", 1e-5),
    Spec("dropped", "largest |dx| on dropped units", "<", 1e-7),
    Spec("plain_kept", "plain: largest |dx - 1| on kept units", "<", 1e-6),
    Spec("rate", "|fraction of units dropped - p|", "<", 0.02, "fraction"),
)


def measure(seed: int, lib) -> dict:
    x = np.random.default_rng(seed).uniform(0.5, 1.5, size=(256, 64)).astype(np.float32)
    out, dx = lib.dropout(x, P)
    plain_out, plain_dx = lib.dropout(x, P, inverted=False)
    kept, plain_kept = out != 0, plain_out != 0
    return {"inverted_kept": float(np.max(np.abs(dx[kept] - 1 / (1 - P)), initial=0.0)),
            "dropped": float(np.max(np.abs(np.r_[dx[~kept], plain_dx[~plain_kept]]),
                                    initial=0.0)),
            "plain_kept": float(np.max(np.abs(plain_dx[plain_kept] - 1), initial=0.0)),
            "rate": abs(float(np.mean(~kept)) - P)}

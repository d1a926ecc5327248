"""Inverted dropout keeps the training expectation equal to evaluation's."""
import numpy as np

from .core import Spec

TITLE = "Inverted dropout keeps expectations equal"
CLAIM = ("With inverted dropout the mean training output over many masks equals the "
         "evaluation output; plain dropout's is (1 - p) times the layer's output without "
         "dropout, so its evaluation must scale by (1 - p).")
ARTICLE = ("E[sum_i x_i q_i w_ij] = (1 - p) E[sum_i x_i w_ij]; inverted dropout scales kept "
           "units by 1/(1 - p) in training; plain dropout scales by (1 - p) at test time.")
PS = (0.2, 0.5, 0.8)
SETUP = (f"f = dropout(X) W for X (64 x 32) from U(0.5, 1.5), W (32 x 16) from U(0, 1)/32, "
         f"p in {PS} (p = 0.5 alone cannot tell 1/p from 1/(1 - p)); the mean of f over 200 "
         "independent masks is divided by the evaluation output, and for plain dropout also "
         "by the output without dropout.")
CAPTION = ("Look at how far each ratio is from what the claim predicts: 0 in the first three "
           "panels; the last panel shows plain dropout is really smaller in training.")
CHECKS = (
    Spec("inverted", "inverted: largest |mean training / evaluation - 1| over p", "<", 0.03),
    Spec("plain_eval", "plain: largest |mean training / its evaluation - 1| over p", "<", 0.03),
    Spec("plain_shrink", "plain: largest |mean training / no dropout - (1 - p)| over p", "<",
         0.03),
    Spec("plain_off", "plain: smallest |mean training / no dropout - 1| over p", ">", 0.1),
)


def measure(seed: int, lib) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, size=(64, 32)).astype(np.float32)
    w = (rng.uniform(0, 1, size=(32, 16)) / 32).astype(np.float32)
    stacked, plain_layer = np.tile(x, (200, 1)), float(np.mean(x @ w))
    ratios = {"inverted": [], "plain_eval": [], "plain_shrink": [], "plain_off": []}
    for p in PS:
        for inverted in (True, False):
            train = float(np.mean(lib.dropout(stacked, p, inverted=inverted)[0] @ w))
            evaluation = float(np.mean(lib.dropout(x, p, False, inverted=inverted)[0] @ w))
            ratios["inverted" if inverted else "plain_eval"].append(abs(train / evaluation - 1))
            if not inverted:
                ratios["plain_shrink"].append(abs(train / plain_layer - (1 - p)))
                ratios["plain_off"].append(abs(train / plain_layer - 1))
    return {key: (min if key == "plain_off" else max)(values) for key, values in ratios.items()}

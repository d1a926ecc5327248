"""Dropout draws randomness only in training; evaluation is the identity."""
import numpy as np

from .core import Spec

TITLE = "Dropout is random in training, the identity in evaluation"
CLAIM = ("Inverted dropout in evaluation mode returns its input unchanged with gradient 1, "
         "the same on every call; in training two calls draw different masks.")
ARTICLE = "Randomness only in training; at test time dropout is the identity."
SETUP = ("X (128 x 32) from U(0.5, 1.5), p = 0.5: two evaluation calls and two training calls "
         "of inverted dropout.")
CAPTION = ("Look for zeros in the first three panels and about half of the entries "
           "differing between two training calls (2p(1 - p) = 0.5).")
CHECKS = (
    Spec("eval_out", "evaluation: largest |out - x|", "<", 1e-7),
    Spec("eval_grad", "evaluation: largest |dx - 1|", "<", 1e-7),
    Spec("eval_repeat", "two evaluation calls: fraction of entries that differ", "<", 1e-9,
         "fraction"),
    Spec("train_repeat", "two training calls: fraction of entries that differ", ">", 0.3,
         "fraction"),
)


def measure(seed: int, lib) -> dict:
    x = np.random.default_rng(seed).uniform(0.5, 1.5, size=(128, 32)).astype(np.float32)
    (out, dx), (again, _) = lib.dropout(x, 0.5, False), lib.dropout(x, 0.5, False)
    first, second = lib.dropout(x, 0.5)[0], lib.dropout(x, 0.5)[0]
    return {"eval_out": float(np.max(np.abs(out - x))),
            "eval_grad": float(np.max(np.abs(dx - 1))),
            "eval_repeat": float(np.mean(out != again)),
            "train_repeat": float(np.mean(first != second))}

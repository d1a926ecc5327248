"""Why batch norm has gamma and beta."""
import numpy as np

from .. import nn
from .core import Spec

TITLE = "Gamma and beta give back what normalising erases"
CLAIM = ("Normalising alone pins every feature to mean 0 and variance 1, so a layer can no "
         "longer represent its input's own mean and scale; the learnt gamma and beta recover "
         "them (here: batch norm learns to be the identity).")
ARTICLE = "y = gamma x_hat + beta: the scale and shift are learnt parameters."
SETUP = ("x (256 x 4) with feature means (3, -2, 0.5, 10) and standard deviations "
         "(2, 0.5, 1, 4) plus noise from a seed; a lone BatchNorm1d(4) with and without affine "
         "parameters is trained (Adam lr 0.2, 60 epochs of batch 64) to reproduce its input; "
         "the error is the training-mode mean squared error over the input's variance.")
CAPTION = ("Look at the two panels: with gamma and beta the error goes to about 0; without "
           "them it stays near the whole variance.")
CHECKS = (
    Spec("with_affine", "with gamma and beta: MSE / variance of x", "<", 0.05, "fraction"),
    Spec("without_affine", "without them: MSE / variance of x", ">", 0.5, "fraction"),
)


def measure(seed: int, lib) -> dict:
    rng = np.random.default_rng(seed)
    scale, shift = np.array([2, 0.5, 1, 4]), np.array([3, -2, 0.5, 10])
    x = (rng.standard_normal((256, 4)) * scale * rng.uniform(0.8, 1.2, 4) + shift)
    x = x.astype(np.float32)
    errors = {}
    for affine in (True, False):
        model = lib.convert(nn.Sequential(nn.BatchNorm1d(4, affine=affine)))
        if affine:  # without gamma and beta there is nothing to learn
            lib.fit(model, x, x, epochs=60, lr=0.2, batch_size=64, mse=True)
        out = lib.outputs(model, x, train_mode=True)
        errors[affine] = float(np.mean((out - x) ** 2) / np.mean(x.var(axis=0)))
    return {"with_affine": errors[True], "without_affine": errors[False]}

"""Batch norm's training forward and its gradients, against the formulas."""
import numpy as np

from .core import Spec

TITLE = "Batch norm's formula and its gradients"
CLAIM = ("In training, batch norm computes gamma * (x - mu) / sqrt(sigma^2 + eps) + beta with "
         "the batch's mean and biased variance; dL/dgamma = sum(g * x_hat), dL/dbeta = sum(g), "
         "and dL/dx follows x through x_hat, mu and sigma^2 alike.")
ARTICLE = ("y = gamma (x - mu)/sqrt(sigma^2 + eps) + beta; dy/dgamma = x_hat, dy/dbeta = 1 "
           "(the article stops there; the gradient for x also runs through mu and sigma^2).")
SETUP = ("x (16 x 4) in float64, each feature with its own mean and scale, gamma and beta "
         "random, an upstream gradient g random; the layer's output and gradients are "
         "compared with the formulas, and dL/dx with central differences (step 1e-6) of the "
         "formula, which include the paths through mu and sigma^2.")
CAPTION = ("Every panel should sit at zero: the largest relative difference between the "
           "layer and the formula, over all entries.")
CHECKS = (
    Spec("forward", "output vs the formula: largest relative difference", "<", 1e-6),
    Spec("dgamma", "dL/dgamma vs sum(g * x_hat): largest relative difference", "<", 1e-6),
    Spec("dbeta", "dL/dbeta vs sum(g): largest relative difference", "<", 1e-6),
    Spec("dx", "dL/dx vs central differences: largest relative difference", "<", 1e-5),
)


def formula(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> tuple:
    """The article's training forward: ``(out, x_hat)``."""
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return gamma * x_hat + beta, x_hat


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def measure(seed: int, lib) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 4)) * rng.uniform(0.5, 3, 4) + rng.uniform(-3, 3, 4)
    gamma, beta, grad = rng.uniform(0.5, 2, 4), rng.standard_normal(4), rng.standard_normal(x.shape)
    out, dx, dgamma, dbeta = lib.batch_norm(x, gamma, beta, grad)
    expected, x_hat = formula(x, gamma, beta)
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = 1e-6
        numeric[index] = np.sum(grad * (formula(x + step, gamma, beta)[0]
                                        - formula(x - step, gamma, beta)[0])) / 2e-6
    return {"forward": _relative(out, expected),
            "dgamma": _relative(dgamma, np.sum(grad * x_hat, axis=0)),
            "dbeta": _relative(dbeta, grad.sum(axis=0)), "dx": _relative(dx, numeric)}

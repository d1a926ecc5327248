"""Running statistics: a moving average that converges to the training set's statistics."""
import numpy as np

from .core import Spec

TITLE = "Running statistics track the training set's"
CLAIM = ("running_mean and running_var, updated as running = (1 - m) running + m batch_stat, "
         "settle on the training set's mean and unbiased variance, for beta = 0.9 and 0.99 "
         "(momentum m = 0.1 and 0.01), hovering around them as much as a moving average should.")
ARTICLE = ("Test mode uses statistics of the training data, kept as moving averages "
           "running = beta running + (1 - beta) batch_stat, beta 0.9 or 0.99.")
STEPS, BURN_IN, BATCH = 2000, 500, 8
SETUP = (f"A training set of 2000 examples with feature means (5, -2) and standard deviations "
         f"(3, 0.5); a fresh BatchNorm1d(2) sees {STEPS} random batches of {BATCH}. After "
         f"{BURN_IN} steps (when (1 - m)^k has forgotten the start), the time average of each "
         "buffer is compared with the training set's statistic (relative bias, worst feature), "
         "and its spread with the moving average's stationary spread s sqrt(m / (2 - m)), s "
         "the spread of the batch statistic.")
CAPTION = ("Look for biases near 0 (a biased variance would sit at -1/8 with batches of 8) and "
           "spread ratios near 0 in the last panels (a wrong momentum moves them far off).")
CHECKS = tuple(
    spec for m in (0.1, 0.01) for spec in (
        Spec(f"mean_{m}", f"m = {m}: |time-averaged running_mean - mean| / std", "<", 0.05),
        Spec(f"var_{m}", f"m = {m}: |time-averaged running_var / variance - 1|", "<", 0.05),
        Spec(f"spread_{m}", f"m = {m}: |spread of running_mean / expected spread - 1|", "<",
             0.5)))


def measure(seed: int, lib) -> dict:
    rng = np.random.default_rng(seed)
    train = (rng.standard_normal((2000, 2)) * (3.0, 0.5) + (5.0, -2.0)).astype(np.float32)
    batches = [train[rng.integers(0, len(train), BATCH)] for _ in range(STEPS)]
    mean, var, std = train.mean(axis=0), train.var(axis=0, ddof=1), train.std(axis=0)
    batch_means = np.array([b.mean(axis=0) for b in batches])
    result = {}
    for m in (0.1, 0.01):
        running_mean, running_var = (trace[BURN_IN:] for trace in lib.running_stats(batches, m))
        expected = batch_means.std(axis=0) * np.sqrt(m / (2 - m))
        result[f"mean_{m}"] = float(np.max(np.abs(running_mean.mean(axis=0) - mean) / std))
        result[f"var_{m}"] = float(np.max(np.abs(running_var.mean(axis=0) / var - 1)))
        result[f"spread_{m}"] = float(np.max(np.abs(running_mean.std(axis=0) / expected - 1)))
    return result

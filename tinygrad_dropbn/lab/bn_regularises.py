"""Batch norm also regularises."""
import numpy as np

import tinygrad_dropbn as tg
from .core import Spec
from .problems import cross_entropy, with_noise_features

TITLE = "Batch norm also regularises"
CLAIM = ("In training, batch norm makes each example's output depend on the other examples "
         "in its batch, a noise that regularises: a network with batch norm overfits a small "
         "training set less than without it.")
ARTICLE = "Batch norm also has a regularising effect."
SETUP = ("Two moons plus 10 pure-noise features, 64 training and 150 test examples. Noise: one "
         "example's training-mode logits in 20 random batches of 16, spread relative to the "
         "logits' size. Overfitting: MLP 12-64-2 with and without batch norm, Adam lr 0.01, 30 "
         "epochs of batch 16, test minus training cross-entropy in evaluation mode.")
CAPTION = ("Look at the first panel (the batch noise exists) and the second (whether it "
           "shrinks the train-test loss gap).")
CHECKS = (
    Spec("noise", "log10 relative spread of one example's training-mode logits over batches",
         ">", -2.0, "log10"),
    Spec("gap_reduction", "loss gap without batch norm - with it", ">", 0.02, "nats",
         required=False),
)
PARTLY = ("The batch noise is there, but on this task it does not narrow the gap between "
          "training and test loss measurably: batch norm's regularisation is weak next to "
          "dropout's.")


def measure(seed: int, lib) -> dict:
    x_train, y_train, x_test, y_test = with_noise_features("moons", seed, 10)
    x_train, y_train = x_train[:64], y_train[:64]
    rng, gap = np.random.default_rng(seed), {}
    for batchnorm in (True, False):
        tg.manual_seed(seed)
        model = lib.mlp(12, [64], 2, batchnorm=batchnorm)
        if batchnorm:
            batches = [np.r_[x_train[:1], x_train[rng.choice(np.arange(1, 64), 15)]]
                       for _ in range(20)]
            first = np.array([lib.outputs(model, b, train_mode=True)[0] for b in batches])
            noise = float(np.log10(max(first.std(axis=0).mean() / np.abs(first).mean(),
                                       1e-12)))
        lib.fit(model, x_train, y_train, epochs=30, lr=0.01, batch_size=16)
        gap[batchnorm] = (cross_entropy(lib.outputs(model, x_test), y_test)
                          - cross_entropy(lib.outputs(model, x_train), y_train))
    return {"noise": noise, "gap_reduction": gap[False] - gap[True]}

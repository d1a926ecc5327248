"""Dropout reduces overfitting."""
import numpy as np

import tinygrad_dropbn as tg

from .core import Spec
from .problems import accuracy, cross_entropy, with_noise_features

TITLE = "Dropout narrows the generalisation gap"
CLAIM = ("On a training set small enough to memorise, an MLP trained with dropout (p = 0.5) "
         "overfits less: its test loss exceeds its training loss by less than without dropout.")
ARTICLE = "Dropout is a regulariser against overfitting (the article's motivation)."
SETUP = ("Two moons plus 10 pure-noise features, 150 test examples and three training sets "
         "of 64 per run (averaged); MLP 12-128-2 without batch norm, Adam lr 0.01, 20 epochs "
         "of batch 16, with p = 0 and p = 0.5 from the same initial weights; the gap is test "
         "minus training cross-entropy in evaluation mode.")
CAPTION = ("Look at the first panel: how much dropout shrinks the train-test loss gap; the "
           "second says whether test accuracy improves too.")
CHECKS = (
    Spec("gap_reduction", "loss gap without dropout - with dropout", ">", 0.02, "nats"),
    Spec("test_gain", "test accuracy with dropout - without", ">", 0.0, "accuracy",
         required=False),
)
SUBSETS, HIDDEN, EPOCHS = 3, 128, 20
PARTLY = ("Dropout narrows the gap between training and test loss, but the test accuracy it "
          "buys on this task is within the noise of these runs.")


def measure(seed: int, lib) -> dict:
    x_train, y_train, x_test, y_test = with_noise_features("moons", seed, 10)
    gap, test = {0.0: [], 0.5: []}, {0.0: [], 0.5: []}
    for subset in range(SUBSETS):  # three small training sets per run: a steadier mean
        rows = slice(64 * subset, 64 * (subset + 1))
        for p in (0.0, 0.5):
            tg.manual_seed(seed)
            model = lib.mlp(12, [HIDDEN], 2, batchnorm=False, dropout=p)
            lib.fit(model, x_train[rows], y_train[rows], epochs=EPOCHS, lr=0.01, batch_size=16)
            train_out, test_out = lib.outputs(model, x_train[rows]), lib.outputs(model, x_test)
            gap[p].append(cross_entropy(test_out, y_test)
                          - cross_entropy(train_out, y_train[rows]))
            test[p].append(accuracy(test_out, y_test))
    return {"gap_reduction": float(np.mean(gap[0.0]) - np.mean(gap[0.5])),
            "test_gain": float(np.mean(test[0.5]) - np.mean(test[0.0]))}

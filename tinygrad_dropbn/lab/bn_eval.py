"""Evaluation normalises with the running statistics, never the test batch's."""
import numpy as np

from .core import Spec
from .problems import accuracy, raw_blobs

TITLE = "Evaluation uses the training set's statistics"
CLAIM = ("In evaluation mode batch norm normalises with its running statistics, so a "
         "prediction does not depend on the other examples in the batch; normalising with the "
         "test batch's own statistics instead ruins batches that are not like the training set.")
ARTICLE = ("Test mode: normalise with statistics of the training data, never the test batch.")
SETUP = ("Three Gaussian blobs in raw units (x * 3 + 5), 450 training and 150 test examples; "
         "MLP 2-32-3 with batch norm, Adam lr 0.01, 10 epochs of batch 32. The test set is "
         "then evaluated whole and as three batches of one class each: in evaluation mode, "
         "and with the test batches' own statistics (training-mode batch norm, buffers "
         "restored).")
CAPTION = ("Look at the first panel (0: the batch does not matter in evaluation mode) and the "
           "last (how much accuracy the test batch's own statistics cost).")
CHECKS = (
    Spec("batch_dependence", "evaluation: |accuracy on one-class batches - on the whole set|",
         "<", 0.005, "accuracy"),
    Spec("eval_accuracy", "evaluation: accuracy on one-class batches", ">", 0.8, "accuracy"),
    Spec("harm", "one-class batches: accuracy with running - with test-batch statistics", ">",
         0.2, "accuracy"),
)


def measure(seed: int, lib) -> dict:
    x_train, y_train, x_test, y_test = raw_blobs(seed)
    model = lib.mlp(2, [32], 3)
    lib.fit(model, x_train, y_train, epochs=10, lr=0.01, batch_size=32)
    classes = [y_test == c for c in range(3)]
    whole = accuracy(lib.outputs(model, x_test), y_test)
    by_class, own = [], []
    for rows in classes:
        by_class.append(lib.outputs(model, x_test[rows]).argmax(axis=1) == y_test[rows])
        own.append(lib.outputs(model, x_test[rows], train_mode=True).argmax(axis=1)
                   == y_test[rows])
    single = float(np.mean(np.concatenate(by_class)))
    return {"batch_dependence": abs(single - whole), "eval_accuracy": single,
            "harm": single - float(np.mean(np.concatenate(own)))}

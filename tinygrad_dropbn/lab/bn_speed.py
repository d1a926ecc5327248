"""Batch norm speeds up training."""
import tinygrad_dropbn as tg
from .core import Spec
from .problems import accuracy, spiral

TITLE = "Batch norm speeds up training"
CLAIM = ("With the same optimiser, learning rate, steps and initial weights, a deep sigmoid "
         "MLP with batch norm reaches a much higher accuracy than without it.")
ARTICLE = "Batch norm speeds up training."
SETUP = ("Spiral (3 classes, 337 training examples); MLP 2-32-32-32-32-3 with sigmoid, with "
         "and without batch norm before each activation, Adam lr 0.01, 6 epochs of batch 32 "
         "(60 steps); training-set accuracy in evaluation mode after those steps.")
CAPTION = "Look at the first panel: the accuracy points batch norm gains in the same steps."
CHECKS = (
    Spec("gain", "accuracy after 60 steps: with batch norm - without", ">", 0.1, "accuracy"),
    Spec("with_bn", "accuracy after 60 steps with batch norm", ">", 0.5, "accuracy"),
)


def measure(seed: int, lib) -> dict:
    x_train, y_train, _, _ = spiral(seed)
    result = {}
    for batchnorm in (True, False):
        tg.manual_seed(seed)
        model = lib.mlp(2, [32] * 4, 3, activation="sigmoid", batchnorm=batchnorm)
        lib.fit(model, x_train, y_train, epochs=6, lr=0.01, batch_size=32)
        result[batchnorm] = accuracy(lib.outputs(model, x_train), y_train)
    return {"gain": result[True] - result[False], "with_bn": result[True]}

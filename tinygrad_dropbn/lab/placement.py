"""Where batch norm goes: before a sigmoid or tanh, not after it."""
import numpy as np

import tinygrad_dropbn as tg
from .core import Spec
from .problems import accuracy, raw_blobs

TITLE = "Batch norm goes before sigmoid and tanh"
CLAIM = ("Batch norm between the linear layer and a sigmoid or tanh keeps the activation's "
         "inputs near zero, where it does not saturate; placed after the activation it cannot "
         "stop the first layer saturating on inputs far from zero.")
ARTICLE = ("BN goes between the linear layer and the activation, especially for sigmoid and "
           "tanh: inputs far from zero saturate them.")
SETUP = ("Three Gaussian blobs in raw units (x * 3 + 5); MLP 2-32-32-3 with sigmoid or tanh, "
         "batch norm before or after each activation, same initial weights. Saturation: the "
         "fraction of the first activation's inputs (training mode, at initialisation) where "
         "its derivative is below 0.02 (|z| > 4 for sigmoid, > 2.6 for tanh). Then each "
         "network trains (Adam lr 0.01, 4 epochs of batch 32) and is tested.")
CAPTION = ("Look at the saturation panels (before: near 0; after: far more) and at the last "
           "panel: in test accuracy the two placements are about even.")
LIMIT = {"sigmoid": 4.0, "tanh": 2.6}
CHECKS = (
    *(Spec(f"{act}_before", f"{act}, batch norm before: saturated fraction of layer 1", "<",
           0.05, "fraction") for act in LIMIT),
    *(Spec(f"{act}_more", f"{act}: saturated fraction, after - before", ">", 0.1, "fraction")
      for act in LIMIT),
    Spec("accuracy", "test accuracy, before - after (mean of sigmoid and tanh)", ">", 0.0,
         "accuracy", required=False),
)
PARTLY = ("Before the activation batch norm prevents the saturation the article warns about, "
          "but on this task the two placements reach about the same test accuracy: the "
          "difference is saturation, not accuracy.")


def measure(seed: int, lib) -> dict:
    x_train, y_train, x_test, y_test = raw_blobs(seed)
    result, test = {}, {}
    for act, limit in LIMIT.items():
        saturated = {}
        for position in ("before", "after"):
            tg.manual_seed(seed)
            model = lib.mlp(2, [32, 32], 3, activation=act, bn_position=position)
            inputs, _ = lib.trace(model, x_train[:128], y_train[:128])
            saturated[position] = float(np.mean(np.abs(inputs[0]) > limit))
            lib.fit(model, x_train, y_train, epochs=4, lr=0.01, batch_size=32)
            test[act, position] = accuracy(lib.outputs(model, x_test), y_test)
        result[f"{act}_before"] = saturated["before"]
        result[f"{act}_more"] = saturated["after"] - saturated["before"]
    result["accuracy"] = float(np.mean([test[a, "before"] - test[a, "after"] for a in LIMIT]))
    return result

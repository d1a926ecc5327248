"""Neural-network building blocks, shaped like ``torch.nn``.

``Module`` and ``Parameter`` (module.py), the containers (containers.py), layers (layers.py,
dropout.py, batchnorm.py, normalization.py), losses (losses.py), weight initialisation
(``nn.init``), gradient clipping (``nn.utils``), and the stateless forms in
``tinygrad_dropbn.nn.functional``.

Example:
    >>> import tinygrad_dropbn as tg
    >>> import tinygrad_dropbn.nn as nn
    >>> model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    >>> loss = nn.CrossEntropyLoss()(model(tg.randn(8, 2)), [0, 1, 2, 0, 1, 2, 0, 1])
    >>> loss.backward()
    >>> model[0].weight.grad.shape
    (16, 2)
"""
from . import functional, init, utils
from .batchnorm import BatchNorm1d, BatchNorm2d
from .containers import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .layers import (ELU, GELU, Embedding, Flatten, Identity, LeakyReLU, Linear, LogSoftmax, ReLU,
                     Sigmoid, SiLU, Softmax, Tanh)
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                     MSELoss, NLLLoss, SmoothL1Loss)
from .module import IncompatibleKeys, Module, Parameter
from .normalization import LayerNorm

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "CrossEntropyLoss", "Dropout",
    "ELU", "Embedding", "Flatten", "GELU", "HuberLoss", "Identity", "IncompatibleKeys",
    "KLDivLoss", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module",
    "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "SiLU", "Sigmoid",
    "SmoothL1Loss", "Softmax", "Tanh", "functional", "init", "utils",
]

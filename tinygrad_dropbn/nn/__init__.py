"""Neural-network building blocks, shaped like ``torch.nn``.

``Module`` and ``Parameter`` (module.py), layers (layers.py), losses (losses.py), weight
initialisation (``nn.init``), and the stateless forms in ``tinygrad_dropbn.nn.functional``.

Example:
    >>> import tinygrad_dropbn as tg
    >>> import tinygrad_dropbn.nn as nn
    >>> model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    >>> loss = nn.CrossEntropyLoss()(model(tg.randn(8, 2)), [0, 1, 2, 0, 1, 2, 0, 1])
    >>> loss.backward()
    >>> model[0].weight.grad.shape
    (16, 2)
"""
from . import functional, init
from .batchnorm import BatchNorm1d, BatchNorm2d
from .dropout import Dropout
from .layers import (Flatten, Identity, LeakyReLU, Linear, ModuleList, ReLU, Sequential, Sigmoid,
                     Softmax, Tanh)
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, Parameter

__all__ = [
    "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "CrossEntropyLoss", "Dropout", "Flatten",
    "Identity", "IncompatibleKeys", "LeakyReLU", "Linear", "MSELoss", "Module", "ModuleList",
    "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh", "functional",
    "init",
]

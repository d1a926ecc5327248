"""Optimizers and learning-rate schedulers, with PyTorch's names, options and update rules.

Example:
    >>> import tinygrad_dropbn as tg
    >>> from tinygrad_dropbn import optim
    >>> w = tg.Tensor([3.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.25)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
    >>> w.numpy()
    array([0.375], dtype=float32)
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]

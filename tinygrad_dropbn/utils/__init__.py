"""PyTorch's ``torch.utils`` path, so ``from tinygrad_dropbn.utils.data import DataLoader``
works as ``from torch.utils.data import DataLoader`` does."""
from . import data

__all__ = ["data"]

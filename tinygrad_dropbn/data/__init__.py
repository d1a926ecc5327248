"""Datasets, mini-batch loading, and built-in toy datasets generated without any download.

Example:
    >>> import tinygrad_dropbn as tg
    >>> from tinygrad_dropbn import data
    >>> train, test = data.load_dataset("spiral", seed=0)
    >>> loader = data.DataLoader(train, batch_size=64, shuffle=True)
    >>> x, y = next(iter(loader))
    >>> x.shape, y.shape
    ((64, 2), (64,))
"""
from .dataset import Dataset, Subset, TensorDataset, random_split
from .datasets import (available_datasets, blobs, circles, dataset_task, digits, load_dataset,
                       moons, regression_curve, spiral, xor)
from .loader import DataLoader

__all__ = [
    "DataLoader", "Dataset", "Subset", "TensorDataset", "available_datasets", "blobs", "circles",
    "dataset_task", "digits", "load_dataset", "moons", "random_split", "regression_curve",
    "spiral", "xor",
]

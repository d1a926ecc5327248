"""Datasets: indexable collections of samples, each sample a tuple of arrays."""
from __future__ import annotations

import abc
import itertools
import math
from typing import Any, Optional, Sequence, Union

import numpy as np

from .. import random as _random
from ..tensor import Tensor


class Dataset(abc.ABC):
    """A map-style dataset: ``dataset[i]`` is sample ``i`` and ``len(dataset)`` their number.

    Subclasses implement :meth:`__getitem__` (returning a tuple such as ``(x, y)``, or a single
    value) and :meth:`__len__`; :class:`~tinygrad_dropbn.data.DataLoader` batches them.
    """

    @abc.abstractmethod
    def __getitem__(self, index: int) -> Any:
        """Sample ``index``."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of samples."""


class TensorDataset(Dataset):
    """Samples are rows of tensors that share their first dimension.

    ``dataset[i]`` is ``(tensors[0][i], tensors[1][i], ...)``. The tensors are kept as given
    (NumPy arrays are wrapped in Tensors without copying), so
    :class:`~tinygrad_dropbn.data.DataLoader` can slice whole batches out of them at once.

    Args:
        *tensors: Tensors or NumPy arrays with equal first dimensions, e.g. ``(X, y)``.

    Attributes:
        tensors: the tuple of Tensors.

    Example:
        >>> import numpy as np
        >>> from tinygrad_dropbn.data import TensorDataset
        >>> ds = TensorDataset(np.zeros((4, 2), np.float32), np.arange(4))
        >>> len(ds), ds[1][1].item()
        (4, 1)
    """

    def __init__(self, *tensors: Union[Tensor, np.ndarray]) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor, e.g. TensorDataset(X, y)")
        wrapped = []
        for i, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = Tensor._from_op(t, None)
            elif not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset argument {i} is a {type(t).__name__}; pass Tensors "
                                "or NumPy arrays (convert lists with np.asarray)")
            if t.data.ndim == 0:
                raise ValueError(f"TensorDataset argument {i} is 0-dimensional; every tensor "
                                 "needs a first (sample) dimension")
            wrapped.append(t)
        sizes = [t.shape[0] for t in wrapped]
        if len(set(sizes)) != 1:
            raise ValueError("TensorDataset tensors must have the same first dimension (one row "
                             f"per sample), got shapes {[t.shape for t in wrapped]}")
        self.tensors = tuple(wrapped)

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(Tensor._from_op(t.data[index], None) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{t.shape} {t.dtype}" for t in self.tensors)
        return f"TensorDataset({len(self)} samples: {shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``subset[i]`` is
    ``dataset[indices[i]]``.

    Args:
        dataset: the dataset to draw from.
        indices: a sequence of sample indices.

    Attributes:
        dataset, indices: as given.

    Example:
        >>> import numpy as np
        >>> from tinygrad_dropbn.data import Subset, TensorDataset
        >>> part = Subset(TensorDataset(np.arange(5.0)), [4, 0])
        >>> len(part), part[0][0].item()
        (2, 4.0)
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"Subset needs a dataset with __getitem__ and __len__, got "
                            f"{type(dataset).__name__}")
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Union[int, list[int]]) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return f"Subset({len(self)} of {self.dataset!r})"


def random_split(dataset: Dataset, lengths: Sequence[Union[int, float]],
                 generator: Optional[_random.Generator] = None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping :class:`Subset` s, as PyTorch does.

    ``lengths`` are sample counts that add up to ``len(dataset)``, or fractions that add up to
    1: each split then gets ``floor(fraction * len(dataset))`` samples and the remainder is
    dealt out one by one from the first split on, exactly as in PyTorch.

    Args:
        dataset: the dataset to split.
        lengths: the sizes (ints) or fractions (floats) of the splits.
        generator: a :class:`~tinygrad_dropbn.random.Generator` for the permutation; the
            library's generator (``tg.manual_seed``) if None.

    Example:
        >>> import numpy as np
        >>> from tinygrad_dropbn.data import TensorDataset, random_split
        >>> from tinygrad_dropbn.random import Generator
        >>> train, val = random_split(TensorDataset(np.arange(10.0)), [0.8, 0.2],
        ...                           generator=Generator().manual_seed(0))
        >>> len(train), len(val), sorted(train.indices + val.indices) == list(range(10))
        (8, 2, True)
    """
    n = len(dataset)
    lengths = list(lengths)
    total = sum(lengths)
    if lengths and math.isclose(total, 1) and total <= 1:
        sizes = []
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"fraction at index {i} is {fraction!r}, not between 0 and 1")
            sizes.append(int(math.floor(n * fraction)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    for i, length in enumerate(lengths):
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
            raise ValueError(f"length at index {i} is {length!r}: pass non-negative ints "
                             "that add up to len(dataset), or fractions that add up to 1")
    if sum(lengths) != n:
        raise ValueError(f"the lengths add up to {sum(lengths)}, but the dataset has {n} "
                         "samples: pass lengths that add up to len(dataset), or fractions "
                         "that add up to 1")
    order = _random.draw_from(generator).permutation(n).tolist()
    ends = itertools.accumulate(lengths)
    return [Subset(dataset, order[end - length:end]) for end, length in zip(ends, lengths)]

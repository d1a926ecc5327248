"""Datasets: indexable collections of samples, each sample a tuple of arrays."""
from __future__ import annotations

import abc
from typing import Any, Union

import numpy as np

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

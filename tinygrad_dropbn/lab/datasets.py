"""Variants of the built-in datasets that the experiments need."""
from __future__ import annotations

from typing import Sequence

import numpy as np

import tinygrad_dropbn as tg
from tinygrad_dropbn import data


def in_raw_units(split: tuple[data.TensorDataset, data.TensorDataset],
                 scale: float | Sequence[float], shift: float | Sequence[float],
                 ) -> tuple[data.TensorDataset, data.TensorDataset]:
    """The same (train, test) split with features ``x * scale + shift`` (per feature when
    ``scale`` and ``shift`` are sequences).

    Built-in datasets come standardised, near zero; real features are often not (prices,
    pixel intensities, centimetres). This puts them far from zero, the case the article warns
    about, with labels unchanged.
    """
    scale = np.asarray(scale, dtype=np.float32)
    shift = np.asarray(shift, dtype=np.float32)
    return tuple(data.TensorDataset(tg.Tensor(x.data * scale + shift), y)
                 for x, y in (part.tensors for part in split))

"""The library's single random number generator.

Every random draw in tinygrad_dropbn (dropout masks, weight initialisation, data shuffling,
built-in datasets, gradcheck's upstream gradient) goes through :func:`generator`, so one call to
:func:`manual_seed` makes a whole run reproducible.
"""
from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the library's generator (like ``torch.manual_seed``) and return it."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator() -> np.random.Generator:
    """The generator every random draw in the library uses (read it at draw time: never cache
    it, since :func:`manual_seed` replaces it)."""
    return _generator


def get_rng_state() -> dict:
    """The generator's state, for saving alongside a checkpoint."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    _generator.bit_generator.state = state

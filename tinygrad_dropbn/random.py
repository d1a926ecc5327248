"""The library's single random number generator, and private ones for data order.

Every random draw in tinygrad_dropbn (dropout masks, weight initialisation, data shuffling,
built-in datasets, gradcheck's upstream gradient) goes through :func:`generator`, so one call to
:func:`manual_seed` makes a whole run reproducible. A :class:`Generator` passed to
``DataLoader(generator=)`` or ``random_split(generator=)`` draws from its own stream instead,
as in PyTorch, so the data order can be fixed independently of everything else.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the library's generator (like ``torch.manual_seed``) and return it."""
    global _generator
    _generator = np.random.default_rng(_check_seed(seed))
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


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


class Generator:
    """An independent seedable stream of random numbers, like ``torch.Generator``.

    Args:
        device: only ``"cpu"`` exists.

    Example:
        >>> from tinygrad_dropbn.random import Generator
        >>> a = Generator().manual_seed(42)
        >>> b = Generator().manual_seed(42)
        >>> bool((a.numpy_generator().permutation(5) == b.numpy_generator().permutation(5)).all())
        True
    """

    # torch.Generator's default seed: a new Generator gives the same stream every run.
    default_seed = 67280421310721

    def __init__(self, device: str = "cpu") -> None:
        if str(device) != "cpu":
            raise ValueError(f"the only device is 'cpu', got {device!r}")
        self.manual_seed(self.default_seed)

    def manual_seed(self, seed: int) -> "Generator":
        """Restart the stream from ``seed``; return the generator (as PyTorch does)."""
        self._initial_seed = _check_seed(seed)
        self._numpy = np.random.default_rng(self._initial_seed)
        return self

    def initial_seed(self) -> int:
        """The seed the stream was last started from."""
        return self._initial_seed

    def get_state(self) -> dict:
        """The stream's state, for :meth:`set_state`."""
        return self._numpy.bit_generator.state

    def set_state(self, state: dict) -> "Generator":
        """Restore a state returned by :meth:`get_state`."""
        self._numpy.bit_generator.state = state
        return self

    def numpy_generator(self) -> np.random.Generator:
        """The NumPy generator that draws this stream."""
        return self._numpy

    def __repr__(self) -> str:
        return f"Generator(initial_seed={self._initial_seed})"


def draw_from(generator: Optional[Generator]) -> np.random.Generator:
    """``generator``'s stream if one is given, else the library's generator."""
    if generator is None:
        return _generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a tinygrad_dropbn.random.Generator or None, got "
                        f"{type(generator).__name__}")
    return generator.numpy_generator()

"""Shared test fixtures."""
import numpy as np
import pytest

import tinygrad_dropbn as tg


@pytest.fixture
def torch():
    """PyTorch as a reference implementation; tests that use it skip cleanly without it."""
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same generator state, so failures reproduce."""
    tg.manual_seed(0)
    yield


@pytest.fixture
def rng():
    """A NumPy generator for test data (independent of the library's generator)."""
    return np.random.default_rng(1234)

"""``torch.utils.data``'s names, from :mod:`tinygrad_dropbn.data`."""
from ..data import DataLoader, Dataset, Subset, TensorDataset, random_split

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "random_split"]

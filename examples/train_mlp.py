"""Train a small MLP with batch norm and dropout on the built-in spiral dataset.

Shows the whole loop the way it reads in PyTorch: a model built from ``nn`` layers, a loss
module, an optimizer, mini-batches from a ``DataLoader``, ``train()`` / ``eval()`` switching, and a
checkpoint saved with ``tg.save`` and loaded back into a fresh model.

Run (with the package installed, e.g. ``pip install -e .``; takes a few seconds)::

    python examples/train_mlp.py
"""
import os
import tempfile

import numpy as np

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
from tinygrad_dropbn import data, optim


def make_model() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(2, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(64, 3),
    )


def accuracy(model: nn.Module, dataset: data.TensorDataset) -> float:
    """Fraction of correctly classified samples, in evaluation mode and without a graph."""
    x, y = dataset.tensors
    model.eval()
    with tg.no_grad():
        predictions = model(x).argmax(axis=1).numpy()
    model.train()
    return float(np.mean(predictions == y.numpy()))


def main() -> None:
    tg.manual_seed(0)
    train_set, test_set = data.spiral(n_classes=3, points_per_class=300, noise=0.05)
    loader = data.DataLoader(train_set, batch_size=64, shuffle=True)
    model = make_model()
    print(model)
    print(f"{model.num_parameters()} parameters")

    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(1, 61):
        total = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
        if epoch % 10 == 0:
            print(f"epoch {epoch:3d}  train loss {total / len(train_set):.4f}  "
                  f"test accuracy {accuracy(model, test_set):.3f}")

    # A checkpoint holds parameters *and* buffers (batch norm's running statistics), which is
    # what evaluation mode uses; a fresh model with the same layers reproduces the outputs.
    path = os.path.join(tempfile.mkdtemp(), "spiral_mlp.npz")
    tg.save(model.state_dict(), path)
    restored = make_model()
    restored.load_state_dict(tg.load(path))
    print(f"saved {path}; restored model test accuracy {accuracy(restored, test_set):.3f}")


if __name__ == "__main__":
    main()

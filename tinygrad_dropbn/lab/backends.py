"""The few operations the experiments measure with, once on this library and once on PyTorch.

:data:`LIBRARY` runs them with tinygrad_dropbn, calling ``models.mlp``, ``F.dropout`` and
``nn.BatchNorm1d`` through their modules at every call, so a test that breaks one of them
(monkeypatching) breaks every experiment that relies on it. :class:`Torch` (``lab --against
torch``) builds every model with this library first -- the same initial weights from the same
generator, on the same data -- copies it into ``torch.nn`` and repeats the measurement there.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn.functional as F
from .. import data, models, nn, training
from ..random import generator

ACTIVATION_TYPES = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU)


class Library:
    """The measurements on tinygrad_dropbn itself."""

    name = "tinygrad_dropbn"

    def seed(self, seed: int) -> None:
        """Seed every generator a run draws from."""
        tg.manual_seed(seed)

    def mlp(self, *args: Any, gain: float = 1.0, **kwargs: Any) -> Any:
        """``tinygrad_dropbn.models.mlp``, initialised from the library's generator, every
        Linear weight then multiplied by ``gain``."""
        model = models.mlp(*args, **kwargs)
        for layer in model:
            if isinstance(layer, nn.Linear):
                layer.weight.data *= gain
        return self.convert(model)

    def convert(self, model: Any) -> Any:
        """A model of this library, as this backend runs it (here: itself)."""
        return model

    def fit(self, model: Any, x: np.ndarray, y: np.ndarray, epochs: int, lr: float,
            batch_size: int, mse: bool = False) -> None:
        """Adam on cross-entropy (or mean squared error) with
        :func:`tinygrad_dropbn.training.fit`."""
        training.fit(model, data.TensorDataset(tg.Tensor(x), tg.Tensor(y)), epochs=epochs,
                     lr=lr, batch_size=batch_size, loss_fn=nn.MSELoss() if mse else None)

    def outputs(self, model: Any, x: np.ndarray, train_mode: bool = False) -> np.ndarray:
        """The model's outputs in evaluation (or training) mode; parameters and buffers are
        left as they were."""
        state = model.state_dict()
        model.train(train_mode)
        with tg.no_grad():
            out = model(tg.Tensor(x)).numpy()
        model.load_state_dict(state)
        return out

    def trace(self, model: Any, x: np.ndarray, y: np.ndarray) -> tuple[list, list]:
        """One training-mode forward and backward of cross-entropy: the inputs of every
        activation layer, and the root-mean-square gradient ``dL/dz`` at each hidden Linear's
        output ``z`` (input side first)."""
        model.train()
        inputs, linear_outputs, h = [], [], tg.Tensor(x)
        for layer in model:
            if isinstance(layer, ACTIVATION_TYPES):
                inputs.append(h.numpy().copy())
            h = layer(h)
            if isinstance(layer, nn.Linear):
                linear_outputs.append(h.retain_grad())
        F.cross_entropy(h, tg.Tensor(y)).backward()
        return inputs, [float(np.sqrt(np.mean(z.grad.numpy() ** 2)))
                        for z in linear_outputs[:-1]]

    def dropout(self, x: np.ndarray, p: float, training: bool = True, inverted: bool = True,
                per_feature: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``F.dropout``'s output and its gradient for an upstream gradient of ones."""
        t = tg.Tensor(x, requires_grad=True)
        out = F.dropout(t, p=p, training=training, inverted=inverted, per_feature=per_feature)
        out.sum().backward()
        return out.numpy(), t.grad.numpy()

    def batch_norm(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                   grad: np.ndarray) -> tuple[np.ndarray, ...]:
        """A training-mode ``BatchNorm1d`` pass in float64 and its backward for upstream
        ``grad``: ``(out, dx, dweight, dbias)``."""
        layer = nn.BatchNorm1d(x.shape[1])
        layer.weight.data, layer.bias.data = weight.copy(), bias.copy()
        t = tg.Tensor(x, requires_grad=True)
        (layer(t) * tg.Tensor(grad)).sum().backward()
        return (layer(tg.Tensor(x)).numpy(), t.grad.numpy(), layer.weight.grad.numpy(),
                layer.bias.grad.numpy())

    def running_stats(self, batches: list[np.ndarray], momentum: float,
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Feed ``batches`` through a fresh training-mode ``BatchNorm1d``; the running mean and
        variance after every step, shape (steps, features)."""
        layer, means, variances = nn.BatchNorm1d(batches[0].shape[1], momentum=momentum), [], []
        with tg.no_grad():
            for batch in batches:
                layer(tg.Tensor(batch))
                means.append(layer.running_mean.numpy().copy())
                variances.append(layer.running_var.numpy().copy())
        return np.array(means), np.array(variances)


class Torch(Library):
    """The same measurements in PyTorch, from models built (and initialised) by this library."""

    name = "PyTorch"

    def __init__(self) -> None:
        import torch
        self.torch = torch
        # NOTE: the models are tiny: splitting each op over threads costs more than it saves.
        torch.set_num_threads(1)

    def seed(self, seed: int) -> None:
        super().seed(seed)
        self.torch.manual_seed(seed)  # PyTorch draws its own dropout masks

    def convert(self, model: Any) -> Any:
        """A ``torch.nn.Sequential`` with the layers and weights of ``model``."""
        tnn, layers = self.torch.nn, []
        for layer in model:
            if isinstance(layer, nn.Linear):
                twin = tnn.Linear(layer.in_features, layer.out_features)
            elif isinstance(layer, nn.BatchNorm1d):
                twin = tnn.BatchNorm1d(layer.num_features, eps=layer.eps,
                                       momentum=layer.momentum, affine=layer.affine)
            elif isinstance(layer, nn.Dropout):
                if not layer.inverted or layer.per_feature:
                    raise ValueError("PyTorch has only inverted per-element dropout")
                twin = tnn.Dropout(layer.p)
            else:
                twin = getattr(tnn, type(layer).__name__)()
            twin.load_state_dict({k: self.torch.from_numpy(np.array(v))
                                  for k, v in layer.state_dict().items()})
            layers.append(twin)
        return tnn.Sequential(*layers)

    def fit(self, model: Any, x: np.ndarray, y: np.ndarray, epochs: int, lr: float,
            batch_size: int, mse: bool = False) -> None:
        torch = self.torch
        loss = torch.nn.functional.mse_loss if mse else torch.nn.functional.cross_entropy
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
        model.train()
        for _ in range(epochs):
            order = torch.from_numpy(generator().permutation(len(x)))
            for i in range(0, len(x) - batch_size + 1, batch_size):
                rows = order[i:i + batch_size]
                opt.zero_grad()
                loss(model(x_t[rows]), y_t[rows]).backward()
                opt.step()

    def outputs(self, model: Any, x: np.ndarray, train_mode: bool = False) -> np.ndarray:
        state = {k: v.clone() for k, v in model.state_dict().items()}
        model.train(train_mode)
        with self.torch.no_grad():
            out = model(self.torch.from_numpy(x)).numpy()
        model.load_state_dict(state)
        return out

    def trace(self, model: Any, x: np.ndarray, y: np.ndarray) -> tuple[list, list]:
        torch, inputs, linear_outputs = self.torch, [], []
        model.train()
        h = torch.from_numpy(x)
        for layer in model:
            if isinstance(layer, (torch.nn.ReLU, torch.nn.Tanh, torch.nn.Sigmoid)):
                inputs.append(h.detach().numpy().copy())
            h = layer(h)
            if isinstance(layer, torch.nn.Linear):
                h.retain_grad()
                linear_outputs.append(h)
        torch.nn.functional.cross_entropy(h, torch.from_numpy(y)).backward()
        return inputs, [float(z.grad.pow(2).mean().sqrt()) for z in linear_outputs[:-1]]

    def dropout(self, x: np.ndarray, p: float, training: bool = True, inverted: bool = True,
                per_feature: bool = False) -> tuple[np.ndarray, np.ndarray]:
        torch = self.torch
        t = torch.from_numpy(x).requires_grad_()
        if per_feature:  # PyTorch has no shared mask: build it from one Bernoulli per column
            keep = torch.bernoulli(torch.full((1, x.shape[1]), 1 - p, dtype=t.dtype))
            out = t * keep / (1 - p) if training else t
        else:
            out = torch.nn.functional.dropout(t, p=p, training=training)
        if not inverted:  # plain dropout is inverted dropout times (1 - p), in both modes
            out = out * (1 - p)
        out.sum().backward()
        return out.detach().numpy(), t.grad.numpy()

    def batch_norm(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                   grad: np.ndarray) -> tuple[np.ndarray, ...]:
        torch = self.torch
        t = torch.from_numpy(x).requires_grad_()
        w, b = (torch.from_numpy(v.copy()).requires_grad_() for v in (weight, bias))
        out = torch.nn.functional.batch_norm(t, None, None, w, b, training=True)
        (out * torch.from_numpy(grad)).sum().backward()
        return out.detach().numpy(), t.grad.numpy(), w.grad.numpy(), b.grad.numpy()

    def running_stats(self, batches: list[np.ndarray], momentum: float,
                      ) -> tuple[np.ndarray, np.ndarray]:
        layer = self.torch.nn.BatchNorm1d(batches[0].shape[1], momentum=momentum)
        means, variances = [], []
        with self.torch.no_grad():
            for batch in batches:
                layer(self.torch.from_numpy(batch))
                means.append(layer.running_mean.numpy().copy())
                variances.append(layer.running_var.numpy().copy())
        return np.array(means), np.array(variances)


LIBRARY = Library()

"""A custom op from scratch: softplus and hypot as Function subclasses, checked by gradcheck.

See docs/adding-an-op.md for the walk-through.
"""
import numpy as np

import tinygrad_dropbn as tg
from tinygrad_dropbn import Function, Tensor


class Softplus(Function):
    """out = log(1 + exp(x));  dx = grad * sigmoid(x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        # NOTE: logaddexp(0, x) = log(exp(0) + exp(x)), computed without overflow.
        out = np.logaddexp(0, x)
        self.save_for_backward(out)  # the engine hands it back to backward, then drops it
        return out

    def backward(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        # sigmoid(x) = 1 - exp(-out), since exp(-out) = 1 / (1 + exp(x)); never overflows
        return grad * (1 - np.exp(-out))


def softplus(x: Tensor) -> Tensor:
    return Softplus.apply(x)


class Hypot(Function):
    """out = sqrt(a**2 + b**2);  da = grad * a / out,  db = grad * b / out."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.hypot(a, b)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, grad: np.ndarray, a: np.ndarray, b: np.ndarray,
                 out: np.ndarray) -> tuple:
        needs_a, needs_b = self.needs_input_grad
        # Shapes as if a and b were never broadcast: the engine sums each back to its input.
        grad_a = grad * a / out if needs_a else None
        grad_b = grad * b / out if needs_b else None
        return grad_a, grad_b


def hypot(a: Tensor, b: Tensor) -> Tensor:
    return Hypot.apply(a, b)


x = tg.Tensor(np.array([-800.0, -1.0, 0.0, 2.0, 800.0]), requires_grad=True)
print("softplus:", softplus(x).numpy())
assert tg.gradcheck(softplus, [x])

a = tg.Tensor(np.array([[3.0], [1.0]]), requires_grad=True)        # shape (2, 1)
b = tg.Tensor(np.array([4.0, -2.0, 0.5]), requires_grad=True)      # shape (3,)
print("hypot:", hypot(a, b).numpy())
assert tg.gradcheck(hypot, [a, b])
assert tg.gradgradcheck(softplus, [x]) and tg.gradgradcheck(hypot, [a, b])

out = softplus(hypot(a, b)).sum()
out.backward()
print("d out / d a:", a.grad.numpy().ravel(), " d out / d b:", b.grad.numpy())



class WrongHypot(Hypot):
    def backward(self, grad: np.ndarray, a: np.ndarray, b: np.ndarray,
                 out: np.ndarray) -> tuple:
        return grad, grad  # forgot the chain rule


try:
    tg.gradcheck(WrongHypot.apply, [a, b])
except tg.GradcheckError as err:
    print("caught:", err)

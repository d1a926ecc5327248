"""Backprop in ten lines: a tiny model, its loss, and the gradients of its weights."""
import tinygrad_dropbn as tg

x = tg.Tensor([[1.0, 2.0], [3.0, 4.0]])              # a batch of two inputs
y = tg.Tensor([[1.0], [0.0]])                         # their targets
w = tg.Tensor([[0.5], [-0.5]], requires_grad=True)   # weights we want gradients for
b = tg.Tensor([0.1], requires_grad=True)

loss = (((x @ w + b).sigmoid() - y) ** 2).mean()      # forward: records the graph
loss.backward()                                       # backward: fills w.grad and b.grad
print("loss", loss.item())
print("dloss/dw", w.grad.numpy().ravel(), "dloss/db", b.grad.numpy())

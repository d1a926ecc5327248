"""Backprop in ten lines (the README's example): a forward pass, backward(), the gradients."""
import numpy as np
import tinygrad_dropbn as tg

x = tg.Tensor([[1.0, -2.0, 3.0]], requires_grad=True)
w = tg.Tensor(np.full((3, 2), 0.5, dtype=np.float32), requires_grad=True)
with tg.record_graph():    # note the graph, its backward order and gradients, for the drawing
    loss = (x @ w).tanh().sum()
    loss.backward()
print(loss.item())         # forward value
print(x.grad.numpy())      # d loss / d x, shape (1, 3)
print(w.grad.numpy())      # d loss / d w, shape (3, 2)
print(tg.graph_text(loss)) # the graph that backward() walked

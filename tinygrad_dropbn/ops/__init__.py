"""Every differentiable op of the library, each a :class:`~tinygrad_dropbn.engine.Function`
with its forward and its backward side by side.

* :mod:`.primitives`: arithmetic, elementwise functions, reductions, shapes, indexing, matmul;
* :mod:`.dropout` and :mod:`.batchnorm`: the two star ops, with their closed-form backwards;
* :mod:`.linear` and :mod:`.losses`: fused ops for layers and losses;
* :mod:`.pointwise`, :mod:`.scans`, :mod:`.norms` and :mod:`.einsum`: more elementwise
  functions, running sums, the 2-norm and Einstein summation;
* :mod:`.sums`: the small-array sums the fused ops share (not an op).

An op takes and returns NumPy arrays and checks nothing: the public functions that call it
(``Tensor`` methods, ``nn.functional``) check their arguments once.
"""

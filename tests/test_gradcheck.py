"""tg.gradcheck: passes correct gradients, fails wrong ones naming the worst element, and the
custom-op walk-through (docs/adding-an-op.md, examples/custom_op.py) runs as written."""
import re
import runpy
from pathlib import Path

import numpy as np
import pytest

import tinygrad_dropbn as tg
from tinygrad_dropbn import Function

ROOT = Path(__file__).resolve().parents[1]


def f64(values, requires_grad=True):
    return tg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


class Cube(Function):
    """out = x ** 3;  dx = 3 x ** 2 grad, with a deliberate error at one element when asked."""

    def forward(self, x, wrong_at=None):
        self.x, self.wrong_at = x, wrong_at
        return x ** 3

    def backward(self, grad):
        dx = 3 * self.x ** 2 * grad
        if self.wrong_at is not None:
            dx[self.wrong_at] += 1.0
        return dx


def test_custom_op_passes():
    assert tg.gradcheck(lambda x: Cube.apply(x), [f64([[0.5, -1.0], [2.0, 0.1]])])


def test_wrong_gradient_fails_and_names_the_worst_element():
    x = f64([[0.5, -1.0], [2.0, 0.1]])
    with pytest.raises(tg.GradcheckError, match=r"input 0 \(shape \(2, 2\)\); worst element "
                                                r"\(1, 0\): analytical .* numerical"):
        tg.gradcheck(lambda x: Cube.apply(x, wrong_at=(1, 0)), [x])
    assert not tg.gradcheck(lambda x: Cube.apply(x, wrong_at=(0, 1)), [x],
                            raise_exception=False)


def test_failure_names_the_input_position_among_all_inputs():
    constant, x = f64([1.0], requires_grad=False), f64([1.0, 2.0])
    with pytest.raises(tg.GradcheckError, match=r"input 1 \(shape \(2,\)\); worst element \(1,\)"):
        tg.gradcheck(lambda c, x: Cube.apply(x, wrong_at=1) * c, [constant, x])


def test_a_small_error_within_tolerance_passes_and_beyond_fails():
    class Nudged(Function):
        def forward(self, x, nudge):
            self.nudge = nudge
            return 2 * x

        def backward(self, grad):
            return 2 * grad + self.nudge

    x = f64(np.ones(3))
    assert tg.gradcheck(lambda x: Nudged.apply(x, nudge=1e-8).sum(), [x])
    assert not tg.gradcheck(lambda x: Nudged.apply(x, nudge=1e-3).sum(), [x],
                            raise_exception=False)


@pytest.mark.filterwarnings("ignore:.*encountered:RuntimeWarning")
def test_non_finite_gradient_fails():
    x = f64([0.0, 1.0])
    with pytest.raises(tg.GradcheckError, match=r"worst element \(0,\)"):
        tg.gradcheck(lambda x: x.sqrt(), [x])


def test_only_inputs_that_require_grad_are_checked_and_grads_are_restored():
    x, c = f64([1.0, 2.0]), f64([3.0, 4.0], requires_grad=False)
    x.grad = tg.Tensor(np.array([7.0, 7.0]))
    assert tg.gradcheck(lambda x, c: x * c, [x, c])
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])
    assert c.grad is None


def test_non_contiguous_inputs_are_perturbed_in_place():
    x = tg.Tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    x.data = np.asfortranarray(x.data)[:, ::-1]
    assert not x.data.flags.c_contiguous
    assert tg.gradcheck(lambda x: (x * x).sum(axis=0), [x])


def test_inputs_it_does_not_depend_on_get_zero_gradient():
    x, unused = f64([1.0]), f64([2.0])
    assert tg.gradcheck(lambda x, unused: x * 2, [x, unused])


@pytest.mark.parametrize("inputs, message", [
    ([tg.Tensor([1.0], requires_grad=True)], "float64 inputs.*got float32 for input 0"),
    ([f64([1.0], requires_grad=False)], "at least one input with requires_grad=True"),
], ids=["float32", "nothing-to-check"])
def test_rejects_inputs_it_cannot_check(inputs, message):
    with pytest.raises(ValueError, match=message):
        tg.gradcheck(lambda x: x * 2, inputs)


def test_custom_op_example_runs(capsys):
    runpy.run_path(str(ROOT / "examples" / "custom_op.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "caught: gradcheck failed for input 1" in printed


def test_adding_an_op_doc_code_runs_and_matches_the_example():
    doc = (ROOT / "docs" / "adding-an-op.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    assert len(blocks) >= 3
    example = (ROOT / "examples" / "custom_op.py").read_text()
    for block in blocks:
        assert block.strip() in example
    exec(compile("\n".join(blocks), "adding-an-op.md", "exec"), {"__name__": "__main__"})


def test_gradcheck_restores_the_input_when_the_function_raises():
    x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    calls = []

    def fails_on_third_call(t):
        calls.append(1)
        if len(calls) == 3:
            raise FloatingPointError("boom")
        return t * t

    with pytest.raises(FloatingPointError):
        tg.gradcheck(fails_on_third_call, [x])
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])

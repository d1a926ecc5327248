"""Drawing the computation graph: DOT source, text tree and recording (rendering:
test_visualization_render.py)."""
import contextlib
import gc
import os
import re
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
from tinygrad_dropbn import engine
from tinygrad_dropbn.visualization import GradSummary, build_graph, op_record
from tinygrad_dropbn.visualization.graph import EDGES_RELEASED, NOT_RECORDED, RELEASED
from tinygrad_dropbn.visualization.summary import GRAD_SCALE, ZERO_GRAD_COLOR

NODE = re.compile(r"^\s*((?:t|op|m)\d+) \[(.*)\]$", re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+)$", re.M)


def nodes(source: str) -> dict:
    """Node id -> its attribute text, from DOT source."""
    return dict(NODE.findall(source))


def edges(source: str) -> list:
    return EDGE.findall(source)


def label(source: str, node_id: str) -> str:
    match = re.search(r'label="((?:[^"\\]|\\.)*)"|label=(\S+)', nodes(source)[node_id])
    return (match.group(1) or match.group(2)).replace("\\n", "\n")


def recording(record: bool):
    return tg.record_graph() if record else contextlib.nullcontext()


def mlp_loss(training: bool = True, backward: bool = False, record: bool = True,
             retain_graph: bool = False):
    """The docs' MLP: Linear, BatchNorm1d, ReLU, Dropout, Linear, cross-entropy; the forward
    and backward passes recorded for drawing unless ``record`` is False."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(8, 3))
    model.train(training)
    x = tg.randn(16, 2)
    target = np.arange(16) % 3
    with recording(record):
        loss = nn.CrossEntropyLoss()(model(x), target)
        if backward:
            loss.backward(retain_graph=retain_graph)
    return model, loss


def affine_relu(backward: bool = False, record: bool = True):
    """mean(relu(x @ W + b)) from primitives: 4 ops, 7 tensors, 10 edges."""
    tg.manual_seed(0)
    x = tg.randn(4, 3)
    weight = tg.Tensor(tg.randn(3, 2).numpy(), requires_grad=True, name="W")
    bias = tg.Tensor(np.zeros(2, np.float32), requires_grad=True, name="b")
    with recording(record):
        loss = (x @ weight + bias).relu().mean()
        if backward:
            loss.backward()
    return loss, weight, bias


@pytest.mark.parametrize("record", [True, False])
def test_known_graph_has_one_node_per_op_and_tensor_and_one_edge_per_use(record):
    loss, _, _ = affine_relu(record=record)
    source = tg.draw_graph(loss).source
    ids = nodes(source)
    assert sorted(i for i in ids if i.startswith("op")) == ["op0", "op1", "op2", "op3"]
    assert len([i for i in ids if i.startswith("t")]) == 7
    assert len(edges(source)) == 10
    assert [label(source, f"op{i}").split("\n")[0] for i in range(4)] == [
        "MatMul", "Add", "Rectify", "Mean axes=(0, 1)"]
    assert label(source, "t1").startswith("W (input)\n(3, 2) float32\nmean ")
    assert label(source, "t2").startswith("(4, 2) float32\nmean ")  # x @ W
    assert label(source, "t3") == "b (input)\n(2,) float32\n[0, 0]"
    assert label(source, "t6").startswith("output\nscalar float32\n")
    assert "not recorded" not in source  # no module and no backward: nothing is missing


def test_mlp_counts_follow_the_engine_graph():
    _, loss = mlp_loss()
    ops = engine.topological_order(loss)
    tensors = {id(t) for fn in ops for t in fn.inputs} | {id(loss)}
    source = tg.draw_graph(loss).source
    ids = nodes(source)
    assert len([i for i in ids if i.startswith("op")]) == len(ops)
    assert len([i for i in ids if i.startswith("t")]) == len(tensors)
    assert len(edges(source)) == sum(len(fn.inputs) for fn in ops) + len(ops)


def test_dropout_and_batchnorm_labels_say_which_mode_ran():
    _, loss = mlp_loss(training=True)
    source = tg.draw_graph(loss).source
    assert "BatchNorm [train: batch statistics]" in source
    kept = re.search(r"Drop p=0.5[^\\\"]*\[train\] kept (\d+)/(\d+)", source)
    assert kept is not None and int(kept.group(2)) == 16 * 8
    _, loss = mlp_loss(training=False)
    source = tg.draw_graph(loss).source
    assert "BatchNorm [eval: running statistics]" in source
    assert re.search(r"Drop p=0.5[^\\\"]*\[eval\]", source)
    assert "[train" not in source


def test_dropout_kept_count_matches_the_mask():
    x = tg.randn(6, 5) + 10  # no zeros before dropout
    x.requires_grad_()
    out = nn.functional.dropout(x, p=0.3, training=True)
    source = tg.draw_graph(out.sum()).source
    kept = int(re.search(r"kept (\d+)/30", source).group(1))
    assert kept == np.count_nonzero(out.numpy())


def test_parameters_are_named_by_module_path_inputs_and_root_are_marked():
    model, loss = mlp_loss()
    source = tg.draw_graph(loss).source
    labels = [label(source, i) for i in nodes(source)]
    first_lines = {text.split("\n")[0] for text in labels}
    assert {name for name, _ in model.named_parameters()} <= first_lines
    assert "input" in first_lines and "output" in first_lines
    named = tg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    assert label(tg.draw_graph((named * 3).sum()).source, "t0").startswith("x (input)\n")


def test_gradient_summaries_appear_only_after_backward():
    _, loss = mlp_loss()
    before = tg.draw_graph(loss).source
    assert "grad" not in before and "backward #" not in before
    _, loss = mlp_loss(backward=True)
    after = tg.draw_graph(loss).source
    assert "backward #0" in after
    assert label(after, "t1").startswith("0.weight\n(8, 2) float32\n")
    assert re.search(r"\ngrad norm \S+  max\|g\| \S+$", label(after, "t1"))
    root = max(nodes(after), key=lambda i: int(i[1:]) if i.startswith("t") else -1)
    assert label(after, root).endswith("\ngrad 1")


def test_backward_position_and_gradient_values_of_a_known_graph():
    loss, weight, bias = affine_relu(backward=True)
    source = tg.draw_graph(loss).source
    assert [label(source, f"op{i}").split("\n")[-1] for i in range(4)] == [
        "backward #3", "backward #2", "backward #1", "backward #0"]
    expected = "grad " + "[" + ", ".join(f"{g:.4g}" for g in bias.grad.numpy()) + "]"
    assert label(source, "t3").endswith("\n" + expected)
    norm = np.linalg.norm(weight.grad.numpy())
    assert f"grad norm {norm:.4g}" in label(source, "t1")


def test_not_computed_gradient_is_drawn_differently_from_a_zero_gradient():
    zero_path = tg.Tensor(np.ones(6, np.float32), requires_grad=True, name="z")
    dropped = tg.Tensor(np.ones(6, np.float32), requires_grad=True, name="w")
    with tg.record_graph():
        loss = (zero_path * 0 + dropped).sum()
        loss.backward()
    dropped.grad = None  # as zero_grad() leaves it
    source = tg.draw_graph(loss).source
    ids = {label(source, i).split("\n")[0]: i for i in nodes(source)}
    assert label(source, ids["z (input)"]).endswith("\ngrad all zero")
    assert label(source, ids["w (input)"]).endswith("\ngrad not computed")
    assert "dashed" in nodes(source)[ids["w (input)"]]
    assert "dashed" not in nodes(source)[ids["z (input)"]]


def test_ops_the_backward_sweep_did_not_reach_say_so():
    x = tg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    with tg.record_graph():
        shared = x * 2
        other, loss = shared * 3, (shared * 4).sum()
        loss.backward()
    source = tg.draw_graph(other).source  # a branch this backward never visited
    assert label(source, "op0") == "Mul\nbackward #2"  # after the sum and the * 4
    assert label(source, "op1") == "Mul\nno gradient reached it"
    assert label(source, "t4").endswith("\ngrad not computed")
    assert "dashed" in nodes(source)["t4"]


def test_same_program_draws_identical_dot_text():
    first = tg.draw_graph(mlp_loss(backward=True)[1], grad_health=True).source
    second = tg.draw_graph(mlp_loss(backward=True)[1], grad_health=True).source
    assert first == second
    assert "0x" not in first and tg.graph_text(mlp_loss()[1]) == tg.graph_text(mlp_loss()[1])


DRAWING_SCRIPT = """
import numpy as np
import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
tg.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5),
                      nn.Linear(8, 3))
with tg.record_graph():
    loss = nn.CrossEntropyLoss()(model(tg.randn(16, 2)), np.arange(16) % 3)
    loss.backward()
print(tg.draw_graph(loss, grad_health=True).source)
"""


def test_separate_processes_draw_identical_dot_text():
    # String hashing differs between processes (PYTHONHASHSEED); a set or a dict keyed by
    # id() anywhere on the way would reorder nodes or edges from one run to the next.
    repo_root = Path(tg.__file__).resolve().parent.parent
    sources = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(repo_root)}
        result = subprocess.run([sys.executable, "-c", DRAWING_SCRIPT], capture_output=True,
                                text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        sources.append(result.stdout)
    assert sources[0].startswith("digraph") and sources[0] == sources[1]


def test_modules_become_nested_labelled_clusters():
    model, loss = mlp_loss()
    graph = build_graph(loss)
    labels = [cluster.label for cluster in graph.clusters.values()]
    assert labels[0] == "Sequential"
    assert labels[1] == "0: Linear(in_features=2, out_features=8, bias=True)"
    assert labels[2].startswith("1: BatchNorm1d(8")
    assert "3: Dropout(p=0.5" in labels[4] and labels[-1] == "CrossEntropyLoss()"
    sequential = graph.clusters["cluster_0"]
    assert [item for item in sequential.items if item.startswith("cluster")] == [
        "cluster_1", "cluster_2", "cluster_3", "cluster_4", "cluster_5"]
    assert graph.clusters["cluster_1"].items[:2] == ["t1", "t2"]  # 0.weight, 0.bias inside
    source = tg.draw_graph(loss).source
    assert source.count("subgraph cluster_") == 7
    assert 'label="0: Linear(in_features=2, out_features=8,\\l    bias=True)\\l"' in source


def test_custom_module_tree_names_and_nesting():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
            self.head = nn.Linear(4, 1)

        def forward(self, x):
            return self.head(self.encoder(x))

    net = Net()
    with tg.record_graph():
        loss = net(tg.randn(2, 3)).sum()
    graph = build_graph(loss)
    assert [c.label for c in graph.clusters.values()] == [
        "Net", "encoder: Sequential", "0: Linear(in_features=3, out_features=4, bias=True)",
        "1: Tanh()", "head: Linear(in_features=4, out_features=1, bias=True)"]
    first_lines = [node.lines[0] for node in graph.nodes.values()]
    assert {"encoder.0.weight", "encoder.0.bias", "head.weight", "head.bias"} <= set(first_lines)
    assert graph.top[:2] == ["t0", "cluster_0"] and graph.top[-2:] == ["op3", "t8"]


def test_depth_collapses_modules_into_nodes_with_shapes_and_parameter_counts():
    model, loss = mlp_loss(backward=True)
    source = tg.draw_graph(loss, depth=1).source
    ids = nodes(source)
    assert sorted(i for i in ids if i.startswith("m")) == ["m0", "m1", "m2", "m3", "m4"]
    assert [i for i in ids if i.startswith("op")] == ["op0"]  # the loss
    assert label(source, "m1").split("\n")[0].startswith("1: BatchNorm1d(8")
    assert label(source, "m1").split("\n")[2] == "BatchNorm [train: batch statistics]"
    assert re.search(r"\[train\] kept \d+/128\nin \(16, 8\)", label(source, "m3"))
    assert label(source, "m1").split("\n")[-3:] == ["in (16, 8)", "out (16, 8)", "params 16"]
    assert "0.weight" not in source and source.count("subgraph cluster_") == 2
    assert ("t0", "m0") in edges(source) and len(edges(source)) == 12
    collapsed = tg.draw_graph(loss, depth=0).source
    assert label(collapsed, "m0").split("\n") == [
        "Sequential", "in (16, 2)", "out (16, 3)", f"params {model.num_parameters()}"]
    assert "subgraph" not in collapsed


def test_hide_constants_folds_scalars_into_op_labels():
    x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (x * 2 + 1).sum()
    shown = tg.draw_graph(loss).source
    hidden = tg.draw_graph(loss, hide_constants=True).source
    assert shown.count("constant\\n") == 2 and "constant" not in hidden
    assert len(nodes(shown)) - len(nodes(hidden)) == 2
    assert label(hidden, "op0") == "Mul\nconst 2" and label(hidden, "op1") == "Add\nconst 1"


def test_gradient_health_colours_by_order_of_magnitude_and_flags_nan():
    x = tg.Tensor(np.full(8, 2.0, np.float32), requires_grad=True, name="x")
    with tg.record_graph():
        loss = (x * 1e-8).sum() + (x * 1e3).sum()
        loss.backward()
    plain = tg.draw_graph(loss).source
    healthy = tg.draw_graph(loss, grad_health=True).source
    assert "legend" not in plain and "mean |grad|" in healthy
    colours = {label(healthy, i).split("\n")[0]: nodes(healthy)[i] for i in nodes(healthy)}
    assert f'fillcolor="{GRAD_SCALE[5][1]}"' in colours["x (input)"]  # mean |g| = 1000
    assert f'fillcolor="{GRAD_SCALE[4][1]}"' in colours["output"]  # mean |g| = 1
    assert f'fillcolor="{ZERO_GRAD_COLOR}"' not in healthy
    assert "color=red" not in healthy

    y = tg.Tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(divide="ignore"), tg.record_graph():
        bad = y.log().sum()
        bad.backward()
    source = tg.draw_graph(bad).source
    flagged = [i for i, attributes in nodes(source).items() if "color=red" in attributes]
    assert flagged == ["t0", "t1", "t2"]  # grad 1/0 = inf, value log 0 = -inf, the sum
    assert "[NaN/Inf]" in tg.graph_text(bad)


def test_vanishing_gradient_gets_the_coolest_colour():
    x = tg.Tensor(np.ones(8, np.float32), requires_grad=True, name="x")
    with tg.record_graph():
        loss = (x * 1e-9).sum()
        loss.backward()
    source = tg.draw_graph(loss, grad_health=True).source
    assert f'fillcolor="{GRAD_SCALE[0][1]}"' in nodes(source)["t0"]


def test_a_100000_op_chain_is_drawn_without_recursion():
    x = tg.Tensor([0.5], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = -y
    source = tg.draw_graph(y).source
    assert source.count(" -> ") == 200_000
    assert 'op99999 [label=Neg' in source and "t100000 [label=\"output" in source


def test_text_rendering_is_an_indented_tree_with_the_same_labels():
    _, loss = mlp_loss(backward=True)
    text = tg.graph_text(loss)
    lines = text.splitlines()
    assert lines[0] == "computation graph: 6 ops, 13 tensors (after backward)"
    assert lines[1].startswith("t0: input | (16, 2) float32 | mean ")
    assert lines[2] == "Sequential"
    assert lines[3] == "    0: Linear(in_features=2, out_features=8, bias=True)"
    assert lines[4].startswith("        t1: 0.weight | (8, 2) float32 | ")
    graph = build_graph(loss)
    for node in graph.nodes.values():
        assert any(f"{node.id}: " + " | ".join(node.lines) in line for line in lines)
    assert re.search(r"^\s+op0: Affine.* \| t0, t1, t2 -> t3$", text, re.M)
    collapsed = tg.graph_text(loss, depth=1)
    assert "    m1: 1: BatchNorm1d(8" in collapsed and "5 collapsed modules" in collapsed


def test_a_leaf_root_is_a_single_node():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    source = tg.draw_graph(x).source
    assert list(nodes(source)) == ["t0"] and not edges(source)
    assert tg.graph_text(x).splitlines()[1] == "t0: output | (2,) float32 | [1, 2]"


def test_bad_options_are_rejected():
    loss, _, _ = affine_relu()
    with pytest.raises(ValueError, match="depth must be None or a non-negative integer"):
        tg.draw_graph(loss, depth=-1)
    with pytest.raises(ValueError, match="rankdir"):
        tg.draw_graph(loss, rankdir="up")
    with pytest.raises(ValueError, match=r"\.svg"):
        tg.render_graph(loss, "graph.jpeg")


def test_hooks_are_registered_only_while_a_recording_is_open():
    assert engine.record_hooks == [] and engine.backward_hooks == []
    with tg.record_graph():
        assert len(engine.record_hooks) == 1 and len(engine.backward_hooks) == 1
        with tg.record_graph():  # nested: one pair of hooks, kept until the outer exit
            assert len(engine.record_hooks) == 1
        assert len(engine.record_hooks) == 1 and tg.visualization.is_recording()
    assert engine.record_hooks == [] and engine.backward_hooks == []
    assert not tg.visualization.is_recording()
    with pytest.raises(ZeroDivisionError):
        with tg.record_graph():
            1 / 0
    assert engine.record_hooks == [] and engine.backward_hooks == []

    @tg.record_graph
    def traced(x):
        assert engine.record_hooks
        return (x * 2).sum()

    @tg.record_graph()
    def failing():
        raise KeyError("boom")

    x = tg.Tensor([1.0], requires_grad=True)
    assert op_record(traced(x).grad_fn) is not None
    with pytest.raises(KeyError):
        failing()
    assert engine.record_hooks == [] and engine.backward_hooks == []
    assert op_record((x * 2).grad_fn) is None  # nothing is noted outside a recording


def test_a_recording_in_one_thread_does_not_tag_another_threads_ops():
    opened, computed = threading.Event(), threading.Event()
    found = {}

    def recorder():
        with tg.record_graph():
            opened.set()
            computed.wait(timeout=30)
            found["mine"] = (tg.Tensor([1.0], requires_grad=True) * 2).sum()
            found["mine"].backward()

    thread = threading.Thread(target=recorder)
    thread.start()
    try:
        assert opened.wait(timeout=30)
        x = tg.Tensor([1.0, 2.0], requires_grad=True)
        other = (x * 3).sum()  # recorded by the engine while the other thread records
        other.backward()
    finally:
        computed.set()
        thread.join(timeout=30)
    assert op_record(other.grad_fn) is None
    assert op_record(found["mine"].grad_fn).backward_step == 0
    assert "backward #" not in tg.draw_graph(other).source
    assert "backward #0" in tg.draw_graph(found["mine"]).source
    assert engine.record_hooks == [] and engine.backward_hooks == []


def recorded_edges(fn):
    """What ``engine.topological_order`` reads of a released op: the edges a recording noted."""
    return [SimpleNamespace(grad_fn=parent) for parent in op_record(fn).parents]


def test_a_released_graph_draws_as_the_retained_one_from_the_recorded_summaries():
    _, retained = mlp_loss(backward=True, retain_graph=True)
    _, released = mlp_loss(backward=True)
    ops = engine.topological_order(released, inputs_of=recorded_edges)
    assert len(ops) == len(engine.topological_order(retained)) and all(fn.released for fn in ops)
    assert tg.draw_graph(released, grad_health=True).source == \
        tg.draw_graph(retained, grad_health=True).source
    assert tg.graph_text(released, depth=1) == tg.graph_text(retained, depth=1)
    text = tg.graph_text(released)
    assert "backward #5" in text and "note:" not in text and RELEASED not in text
    # Intermediate results show the summary of the gradient their op received.
    linear = re.search(r"op0: Affine \| backward #5 \| t0, t1, t2 -> t3\n\s+t3: (.*)", text)
    assert re.search(r"\| grad norm \S+  max\|g\| \S+$", linear.group(1))
    record = op_record(ops[-1])
    assert isinstance(record.grad, GradSummary) and record.output.shape == (16, 8)


def test_an_unrecorded_graph_is_drawn_with_what_the_engine_holds_and_says_so():
    model, live = mlp_loss(record=False)
    graph = build_graph(live)
    assert not graph.clusters and graph.notes == [NOT_RECORDED]
    first_lines = [node.lines[0] for node in graph.nodes.values()]
    assert first_lines.count("parameter") == len(list(model.parameters()))
    assert "backward #" not in tg.draw_graph(live).source
    assert f'label="{NOT_RECORDED}\\l"' in tg.draw_graph(live).source
    assert tg.graph_text(live).splitlines()[1] == f"note: {NOT_RECORDED}"

    _, released = mlp_loss(backward=True, record=False)
    source = tg.draw_graph(released, grad_health=True, depth=1).source
    assert sorted(nodes(source)) == ["op0", "t0"]  # the engine forgot the edges
    assert label(source, "t0").startswith("output\nscalar float32\n")
    assert "backward #" not in source
    assert tg.graph_text(released).splitlines()[1] == f"note: {EDGES_RELEASED}"


def test_recording_only_the_backward_pass_numbers_the_ops():
    x = tg.Tensor([1.0, -2.0], requires_grad=True, name="x")
    loss = (x * x).sum()
    with tg.record_graph():
        loss.backward(retain_graph=True)
    text = tg.graph_text(loss)
    assert "op0: Mul | backward #1" in text and "op1: Sum axes=(0,) | backward #0" in text
    assert "t1: (2,) float32 | [1, 4] | grad [1, 1]" in text
    assert "note:" not in text  # no module ran and nothing was released: nothing is missing
    with tg.record_graph():  # a second sweep through the same graph numbers afresh
        loss.backward(retain_graph=True)
    assert tg.graph_text(loss) == text.replace("grad [2, -4]", "grad [4, -8]")
    assert [op_record(fn).backward_step for fn in engine.topological_order(loss)] == [0, 1]


def test_a_kept_loss_holds_no_activation_or_gradient_arrays():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 1))
    x = tg.randn(512, 64)
    with tg.record_graph():
        hidden = model[1](model[0](x))
        activation = weakref.ref(hidden.data)
        loss = model[2](hidden).mean()
        del hidden
        loss.backward()
    gc.collect()
    assert activation() is None
    records, stack = [], [loss.grad_fn]
    while stack:  # the released graph, through the edges the recording noted
        record = op_record(stack.pop())
        records.append(record)
        stack.extend(parent for parent in record.parents if parent is not None)
    assert len(records) == 4
    for record in records:
        assert not any(isinstance(v, np.ndarray) for v in vars(record).values())
        assert record.output is None or not isinstance(record.output.text, np.ndarray)
    del records, record
    assert "grad norm" in tg.graph_text(loss)
    last_op = weakref.ref(loss.grad_fn)
    del loss
    gc.collect()
    assert last_op() is None  # the notes die with the graph and do not keep it alive


def test_importing_and_drawing_need_no_renderer(tmp_path):
    program = ("import tinygrad_dropbn as tg; x = tg.Tensor([1.0], requires_grad=True); "
               "print(tg.draw_graph((x * 2).sum()).source.count('->'))")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            env={"PATH": str(tmp_path), "PYTHONPATH": ":".join(sys.path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "5"


def deep_model_loss():
    """40 blocks of Linear, BatchNorm1d, ReLU: 403 nodes drawn in full."""
    tg.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.ReLU())
                            for _ in range(40)])
    with tg.record_graph():
        loss = model(tg.randn(8, 4)).sum()
        loss.backward()
    return loss


def test_above_the_node_budget_modules_collapse_and_the_picture_says_so():
    loss = deep_model_loss()
    full = nodes(tg.draw_graph(loss, max_nodes=None).source)
    assert len(full) == 403 and not any(node_id.startswith("m") for node_id in full)
    source = tg.draw_graph(loss).source  # the default budget, 300 nodes
    drawn = nodes(source)
    assert len(drawn) <= 300
    assert sum(node_id.startswith("m") for node_id in drawn) == 120  # 40 x 3 layers
    assert "drawn with depth=2: 120 modules collapsed into one 3-D box each" in source
    assert "the full graph has 403 nodes, over max_nodes=300" in source
    assert drawn == nodes(tg.draw_graph(loss, depth=2).source)
    tight = tg.draw_graph(loss, max_nodes=50).source  # depth 0 is the coarsest there is
    assert "drawn with depth=0: 1 module collapsed" in tight
    assert list(nodes(tight)) == ["t0", "m0", "t1", "op0", "t2"]
    # An explicit depth, and the text, have no budget.
    assert "max_nodes" not in tg.draw_graph(loss, depth=None, max_nodes=500).source
    assert "max_nodes" not in tg.graph_text(loss)
    assert "note: drawn with depth=2" in tg.graph_text(loss, max_nodes=300)


def test_the_node_budget_leaves_graphs_without_modules_alone():
    x = tg.Tensor([0.5], requires_grad=True)
    y = x
    for _ in range(500):
        y = -y
    assert len(nodes(tg.draw_graph(y).source)) == 1001


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_node_budgets_are_rejected(bad):
    with pytest.raises(ValueError, match="max_nodes must be None or a positive integer"):
        tg.draw_graph(deep_model_loss(), max_nodes=bad)

"""The benchmark harness compares like with like: every implementation of a workload computes the
same thing, each one builds and runs, and the rounds alternate as documented. (Nothing here is
timed: speed is measured by the scripts in benchmarks/, never by tests.)"""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_ops  # noqa: E402
import performance  # noqa: E402
import timing  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None


def chains() -> dict:
    found = {"ours": bench_ops.chain_tinygrad, "tape": bench_ops.chain_bare_tape,
             "ours-gc-paused": performance.collector_paused(bench_ops.chain_tinygrad)}
    if HAS_TORCH:
        found["torch"] = bench_ops.make_chain_torch(bench_ops.load_torch())
    return found


@pytest.mark.parametrize("name", ["ours", "tape", "ours-gc-paused", "torch"])
def test_every_chain_computes_the_hand_written_gradient(name):
    if name == "torch" and not HAS_TORCH:
        pytest.skip("PyTorch is not installed")
    x0, w = bench_ops.fixed_data()
    expected = bench_ops.chain_numpy(x0, w, 31)
    np.testing.assert_allclose(chains()[name](x0, w, 31), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("workload", list(performance.WORKLOADS))
def test_every_implementation_of_every_workload_builds_and_runs(workload):
    impls = performance.implementations(workload, HAS_TORCH)
    assert impls[:2] == (["ours", "torch"] if HAS_TORCH else ["ours", "numpy"])
    for impl in impls:
        torch = timing.load_torch(1) if impl in performance.TORCH_LOADED else None
        performance.make_step(workload, impl, torch)()


def test_rounds_alternate_their_order_and_ratios_are_medians_of_rounds():
    calls = []
    times = {"ours": iter([1.0, 2.0, 3.0]), "theirs": iter([2.0, 2.0, 1.0])}

    def run_block(name):
        calls.append(name)
        return {"cpu": next(times[name])}

    blocks = timing.alternating_rounds(["ours", "theirs"], 3, run_block)
    assert calls == ["ours", "theirs", "theirs", "ours", "ours", "theirs"]
    summary = timing.summarise(blocks)
    assert summary["ours"]["cpu"] == 2.0 and summary["theirs"]["cpu"] == 2.0
    assert summary["theirs"]["ratio"] == 1.0  # per-round ratios 0.5, 1, 3
    # a ratio is the median of the rounds' ratios (1, 4, 0.5), not the ratio of the medians (4)
    blocks = {"ours": [{"cpu": 1.0}, {"cpu": 4.0}, {"cpu": 4.0}],
              "theirs": [{"cpu": 1.0}, {"cpu": 1.0}, {"cpu": 8.0}]}
    assert timing.summarise(blocks)["theirs"]["ratio"] == 1.0


def serving(name: str) -> list[str]:
    """A child command that serves blocks of a no-op step, tagged with ``name`` and its
    process id."""
    return ["-c", f"import os, sys; sys.path.insert(0, {str(BENCHMARKS)!r}); import timing; "
                  f"timing.serve_blocks(lambda: None, 4, {{'name': {name!r}, 'pid': os.getpid()}})"]


def test_each_implementation_serves_its_blocks_from_processes_of_its_own():
    blocks = timing.rounds_in_own_processes({"a": serving("a"), "b": serving("b")},
                                            timing.child_env(1, False), 5, processes=2)
    assert list(blocks) == ["a", "b"]
    for name, measured in blocks.items():
        assert len(measured) == 5
        assert all(block["name"] == name and block["cpu"] >= 0 and block["faults"] >= 0
                   for block in measured)
        pids = [block["pid"] for block in measured]  # 3 rounds in one process, 2 in the next
        assert pids[0] == pids[1] == pids[2] != pids[3] == pids[4]
    assert not {block["pid"] for block in blocks["a"]} & {block["pid"] for block in blocks["b"]}


def test_a_process_that_dies_before_it_is_ready_is_named():
    with pytest.raises(RuntimeError, match="the broken process stopped before it was ready"):
        timing.rounds_in_own_processes({"fine": serving("fine"),
                                        "broken": ["-c", "raise SystemExit(3)"]},
                                       timing.child_env(1, False), 2)

"""Training speed: the fast path's two engines against plain ``model.fit(batch_size=32)``,
side by side.

The engines: JAX's epoch (``tunebench.jax_epoch``, the default for plain MLPs when JAX is
installed) and TensorFlow's (one trace for all widths of a depth; ``engine="tensorflow"``).
Prints, for the book's MLP (2 x 30) and the largest model of the book's space (3 x 99) on the
full California-housing training split (11,610 rows):

- milliseconds per epoch of ``fit`` and of each engine, the ratios TensorFlow / JAX and
  fit / JAX, and the arithmetic lower bound (FLOPs of an epoch / the matmul peak measured
  here) to show the gap to the machine's limit;
- the per-trial fixed cost (build + compile + first epoch - a steady epoch) for ``fit`` and
  each engine, on an architecture new to the process and on one compiled before;
- the trial start of new architectures drawn from the book's space (build + first epoch - a
  steady epoch, median), for JAX once its padded widths are compiled and for TensorFlow once
  each depth is traced (as after a search's first trials), beside one trace an architecture
  (TensorFlow's fast path before the width-free trace) and beside each engine with the
  trial's variables in storage of their own shapes (before they were built in storage of
  unknown shape); and what compiling a new padded width costs JAX;
- whether JAX's epoch learns as ``fit`` does: validation MSE after 20 epochs over 5 seeds
  (paired by seed: same initial weights), with a Wilcoxon signed-rank test and a Mann-Whitney
  U test.

    python benchmarks/training_speed.py            # about 3 minutes on 2 cores
    python benchmarks/training_speed.py --quick    # fewer repetitions, 3 seeds
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import itertools

import numpy as np
from memory import own_shapes  # benchmarks/memory.py, beside this script

from tunebench import KerasObjective, Suggestion
from tunebench.fast_training import single_inter_op_thread
from tunebench.jax_epoch import _compiled_epoch, _compiled_loss
from tunebench.models import build_mlp
from tunebench.tasks import california_housing

ARCHITECTURES = {"book MLP 2x30": (2, 30), "largest 3x99": (3, 99)}


def epoch_flops(n_rows: int, n_inputs: int, n_hidden: int, n_neurons: int) -> float:
    """Multiply-adds of forward + backward (about 3x forward) over one epoch, as FLOPs."""
    sizes = [n_inputs] + [n_neurons] * n_hidden + [1]
    per_row = sum(a * b for a, b in itertools.pairwise(sizes))
    return 6.0 * n_rows * per_row


def matmul_peak() -> float:
    """FLOP/s of a large float32 matmul with TensorFlow's current thread settings."""
    import tensorflow as tf

    a = tf.random.uniform((1024, 1024))
    b = tf.random.uniform((1024, 1024))
    tf.linalg.matmul(a, b).numpy()
    runs = 20
    start = time.perf_counter()
    for _ in range(runs):
        c = tf.linalg.matmul(a, b)
    c.numpy()
    return runs * 2 * 1024**3 / (time.perf_counter() - start)


def timed(objective: KerasObjective, arch: tuple[int, int], epochs: int, seed: int) -> float:
    params = {"n_hidden": arch[0], "n_neurons": arch[1], "learning_rate": 3e-3}
    result = objective.evaluate(Suggestion(id=0, params=params, epochs=epochs, seed=seed))
    assert result.status == "ok" and result.epochs_run == epochs, result
    return result.seconds


#: How each measured path trains: (fast, engine, any_widths, own_shapes).
PATHS = {
    "fit": (False, "tensorflow", True, False),
    "jax": (True, "auto", True, False),
    "tensorflow": (True, "tensorflow", True, False),
    "per architecture": (True, "tensorflow", False, False),  # TensorFlow's fast path before
    # before the trial's variables were built in storage of unknown shape
    "jax, own shapes": (True, "auto", True, True),
    "tf, own shapes": (True, "tensorflow", True, True),
}


OWN_SHAPES = ("jax, own shapes", "tf, own shapes")


class OwnShapesObjective(KerasObjective):
    """``KerasObjective`` as before ``keras_variables_of_any_shape``: each trial's variables
    (JAX's optimizer slots too) in storage of their own shapes, each new shape a new kernel."""

    def evaluate(self, *args, **kwargs):
        with own_shapes():
            return super().evaluate(*args, **kwargs)


def objective_for(task, path: str, **kwargs) -> KerasObjective:
    """A book-MLP objective training on ``path`` (a key of ``PATHS``)."""
    fast, engine, any_widths, own_shapes = PATHS[path]
    kind = OwnShapesObjective if own_shapes else KerasObjective
    objective = kind(build_mlp, task, fast=fast, **kwargs)
    if fast:
        objective._trainer.engine = engine
        objective._trainer.any_widths = any_widths
    return objective


def speed(task, arch, path: str, short: int, long: int, repeats: int) -> dict[str, float]:
    """Steady ms per epoch from the difference of a long and a short trial; fixed costs."""
    kwargs = {"max_epochs": long, "patience": long}
    cold, cached, steady = [], [], []
    for r in range(repeats):
        if path == "jax":  # forget JAX's compiled epochs: the first trial compiles anew
            _compiled_epoch.cache_clear()
            _compiled_loss.cache_clear()
        objective = objective_for(task, path, **kwargs)  # nothing compiled yet
        first = timed(objective, arch, short, seed=r)
        second = timed(objective, arch, short, seed=r + 100)  # same architecture again
        longer = timed(objective, arch, long, seed=r + 200)
        per_epoch = (longer - second) / (long - short)
        steady.append(per_epoch)
        # trial = build + first epoch + (short - 1) steady epochs, so
        # build + first epoch - steady epoch = trial - short steady epochs
        cold.append(first - short * per_epoch)
        cached.append(second - short * per_epoch)
    return {
        "epoch_ms": 1e3 * statistics.median(steady),
        "fixed_cold_ms": 1e3 * statistics.median(cold),
        "fixed_cached_ms": 1e3 * statistics.median(cached),
    }


def new_architectures(n: int, seed: int = 0) -> list[tuple[int, int]]:
    """``n`` distinct architectures drawn from the book's space (``n_hidden`` 0-3,
    ``n_neurons`` 1-99), none of them a warm-up architecture of ``trial_start``."""
    rng = np.random.default_rng(seed)
    seen = {(depth, WARM_WIDTH if depth else 0) for depth in range(4)}
    out: list[tuple[int, int]] = []
    while len(out) < n:
        depth, width = int(rng.integers(0, 4)), int(rng.integers(1, 100))
        arch = (depth, width if depth else 0)
        if arch not in seen:
            seen.add(arch)
            out.append((depth, width))
    return out


WARM_WIDTH = 50


def timed_both(objective: KerasObjective, arch: tuple[int, int], epochs: int, seed: int):
    """Wall and CPU seconds of one trial (CPU time barely moves when others load the CPU)."""
    cpu = time.process_time()
    wall = timed(objective, arch, epochs, seed)
    return np.array([wall, time.process_time() - cpu])


def trial_start(task, archs: list[tuple[int, int]]) -> dict[str, np.ndarray]:
    """Build + first epoch - a steady epoch, ms (wall, CPU), of each new architecture in
    ``archs`` on each fast path, after a search's first trials: TensorFlow's with one model
    of each depth trained, JAX's with one of each depth and padded width (``WIDTHS``), the
    per-architecture path as TensorFlow's. The paths take turns. ``known``: JAX's, for the
    architecture's second trial; ``new width``: JAX's on a padded width new to the process
    (its compile), measured on a fresh objective over the widths 113-128 (one compile);
    ``jax, own shapes`` / ``tf, own shapes``: each engine with the trial's variables built in
    storage of their own shapes (``OwnShapesObjective``), as before, on architectures of the
    same depths whose widths no other trial of the process used."""
    from tunebench.jax_epoch import padded_width

    paths = ("jax", "tensorflow", "per architecture", *OWN_SHAPES)
    objectives = {path: objective_for(task, path, max_epochs=4, patience=4) for path in paths}
    for path, objective in objectives.items():
        for depth in range(4):
            jax = PATHS[path][1] == "auto"
            widths = sorted({padded_width(w) for w in range(1, 100)}) if jax else [50]
            for width in widths if depth else [1]:
                timed(objective, (depth, width), 1, seed=depth)
    # TensorFlow keeps a kernel for each variable shape it met, whichever path made it: each
    # own-shapes trial gets the depth of the others' and a width no other trial used
    used = {w for _, w in archs} | {WARM_WIDTH} | {padded_width(w) for w in range(1, 100)}
    free = [w for w in np.random.default_rng(1).permutation(range(1, 100)) if w not in used]
    costs: dict[str, list[np.ndarray]] = {path: [] for path in (*paths, "known", "new width")}
    for i, shared in enumerate(archs):
        for path, objective in objectives.items():
            arch = (shared[0], int(free.pop())) if path in OWN_SHAPES else shared
            first = timed_both(objective, arch, 1, seed=10 + i)  # a new architecture
            ones, threes = [], []
            for _ in range(2):
                ones.append(timed_both(objective, arch, 1, seed=10 + i))  # known now
                threes.append(timed_both(objective, arch, 3, seed=10 + i))
            steady = np.min(np.subtract(threes, ones), axis=0) / 2
            costs[path].append(1e3 * (first - steady))
            if path == "jax":
                costs["known"].append(1e3 * (ones[0] - steady))
                fresh = objective_for(task, "jax", max_epochs=4, patience=4)
                arch = (max(arch[0], 1), 113 + i % 16)
                first = timed_both(fresh, arch, 1, seed=10 + i)
                costs["new width"].append(1e3 * (first - steady))
    return {path: np.array(c) for path, c in costs.items()}


def learning(task, seeds: list[int]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"fast": [], "fit": []}
    for path, name in (("jax", "fast"), ("fit", "fit")):
        objective = objective_for(task, path, max_epochs=20, patience=20)
        for seed in seeds:
            params = {"n_hidden": 2, "n_neurons": 30, "learning_rate": 3e-3}
            result = objective.evaluate(Suggestion(id=0, params=params, seed=seed))
            out[name].append(result.curve[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and seeds")
    parser.add_argument("--start-only", action="store_true", help="only the trial start")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    seeds = list(range(3 if args.quick else 5))

    # What KerasObjective does before the first trial, done here before the matmul probe
    # starts TensorFlow; both paths run under the same thread settings.
    single_inter_op_thread()
    task = california_housing()
    n_rows, n_inputs = task.X_train.shape
    peak = matmul_peak()
    print(f"California housing: {n_rows} training rows; matmul peak {peak / 1e9:.1f} GFLOP/s")
    import tensorflow as tf

    threads = tf.config.threading
    print(
        f"TensorFlow threads: intra-op {threads.get_intra_op_parallelism_threads() or 'all'}, "
        f"inter-op {threads.get_inter_op_parallelism_threads() or 'default'} (both engines)"
    )
    print()
    archs = new_architectures(6 if args.quick else 12)
    start = trial_start(task, archs)
    print(f"trial start of {len(archs)} new architectures from the book's space")
    print("(build + first epoch - steady epoch), ms, wall and CPU time, after a search's first")
    print("trials: JAX with every padded width compiled, TensorFlow with each depth traced;")
    print("known: JAX, the architecture's second trial; new width: JAX, a padded width's compile;")
    print("own shapes: each engine with the trial's variables in storage of their own shapes")
    print("(as before: TensorFlow loads a kernel for each new variable shape), on the same depth")
    print("and a width no other trial used")
    columns = ("jax", "tensorflow", "per architecture", "known", "new width", *OWN_SHAPES)
    print(f"  {'architecture':<13}" + "".join(f" {c:>17}" for c in columns))
    for i, arch in enumerate(archs):
        cells = "".join(f" {start[c][i][0]:>9.0f} ({start[c][i][1]:>4.0f})" for c in columns)
        print(f"  {f'{arch[0]} x {arch[1]}':<13}{cells}")
    medians = {c: np.median(start[c], axis=0) for c in columns}
    cells = "".join(f" {medians[c][0]:>9.0f} ({medians[c][1]:>4.0f})" for c in columns)
    print(f"  {'median':<13}{cells}")
    print(
        f"  tensorflow/jax {medians['tensorflow'][0] / medians['jax'][0]:.2f}x wall, "
        f"per architecture/jax {medians['per architecture'][0] / medians['jax'][0]:.1f}x wall; "
        f"own shapes/unknown: jax {medians['jax, own shapes'][0] / medians['jax'][0]:.2f}x, "
        f"tensorflow {medians['tf, own shapes'][0] / medians['tensorflow'][0]:.2f}x wall"
    )
    print()
    if args.start_only:
        return
    header = (
        f"{'model':<15} {'fit ms':>8} {'TF ms':>8} {'JAX ms':>8} {'TF/JAX':>7} {'fit/JAX':>8} "
        f"{'bound ms':>9} {'JAX/bound':>9}"
    )
    print("ms per steady epoch: fit, the fast path's TensorFlow and JAX engines")
    print(header)
    fixed_rows = []
    for label, arch in ARCHITECTURES.items():
        fit = speed(task, arch, "fit", short=1, long=4, repeats=repeats)
        tf_fast = speed(task, arch, "tensorflow", short=2, long=22, repeats=repeats)
        jax_fast = speed(task, arch, "jax", short=2, long=22, repeats=repeats)
        bound = 1e3 * epoch_flops(n_rows, n_inputs, *arch) / peak
        jax_ms = jax_fast["epoch_ms"]
        print(
            f"{label:<15} {fit['epoch_ms']:>8.1f} {tf_fast['epoch_ms']:>8.1f} {jax_ms:>8.1f} "
            f"{tf_fast['epoch_ms'] / jax_ms:>6.1f}x {fit['epoch_ms'] / jax_ms:>7.1f}x "
            f"{bound:>9.2f} {jax_ms / bound:>8.0f}x"
        )
        fixed_rows.append((label, fit, tf_fast, jax_fast))
    print()
    print("per-trial fixed cost (build + compile + first epoch - steady epoch), ms:")
    print("new: the first model of its architecture (JAX: of its padded width) in the process")
    columns = f"{'fit':>8} {'TF new':>8} {'TF known':>9} {'JAX new':>8} {'JAX known':>10}"
    print(f"{'model':<15} {columns}")
    for label, fit, tf_fast, jax_fast in fixed_rows:
        print(
            f"{label:<15} {fit['fixed_cold_ms']:>8.0f} {tf_fast['fixed_cold_ms']:>8.0f} "
            f"{tf_fast['fixed_cached_ms']:>9.0f} {jax_fast['fixed_cold_ms']:>8.0f} "
            f"{jax_fast['fixed_cached_ms']:>10.0f}"
        )
    print()
    from scipy.stats import mannwhitneyu, wilcoxon

    curves = learning(task, seeds)
    fast_mse, fit_mse = np.array(curves["fast"]), np.array(curves["fit"])
    print(f"validation MSE after 20 epochs, 2x30, seeds {seeds}:")
    print(f"  JAX:  {np.round(fast_mse, 4).tolist()}  median {np.median(fast_mse):.4f}")
    print(f"  fit:  {np.round(fit_mse, 4).tolist()}  median {np.median(fit_mse):.4f}")
    p_paired = wilcoxon(fast_mse, fit_mse).pvalue
    p_mwu = mannwhitneyu(fast_mse, fit_mse).pvalue
    verdict = "indistinguishable" if min(p_paired, p_mwu) > 0.05 else "DIFFERENT"
    print(f"  Wilcoxon p = {p_paired:.3f}, Mann-Whitney p = {p_mwu:.3f}: {verdict} at 5 %")


if __name__ == "__main__":
    main()

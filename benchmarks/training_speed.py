"""Training speed: the fast path against plain ``model.fit(batch_size=32)``, side by side.

Prints, for the book's MLP (2 x 30) and the largest model of the book's space (3 x 99) on the
full California-housing training split (11,610 rows):

- milliseconds per epoch of each path and their ratio, with the arithmetic lower bound
  (FLOPs of an epoch / the matmul peak measured here) to show the gap to the machine's limit;
  the fast path twice: as it is (one trace for all widths of a depth) and with one trace per
  architecture (``any_widths=False``, the fast path before), with their ratio;
- the per-trial fixed cost (build + trace + first epoch - a steady epoch), for ``fit``, for
  the fast path on a new architecture, and on an architecture it has compiled before;
- the trial start of new architectures drawn from the book's space (build + first epoch - a
  steady epoch, median), once each depth has been traced, for the fast path with one trace per
  depth and with one trace per architecture, and their ratio;
- whether both paths learn the same: validation MSE after 20 epochs over 5 seeds (paired by
  seed: same initial weights), with a Wilcoxon signed-rank test and a Mann-Whitney U test.

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

from tunebench import KerasObjective, Suggestion
from tunebench.fast_training import single_inter_op_thread
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


def objective_for(task, fast: bool, any_widths: bool = True, **kwargs) -> KerasObjective:
    """A book-MLP objective; ``any_widths=False``: the fast path tracing each architecture."""
    objective = KerasObjective(build_mlp, task, fast=fast, **kwargs)
    objective._trainer.any_widths = any_widths
    return objective


def speed(
    task, arch, fast: bool, short: int, long: int, repeats: int, any_widths: bool = True
) -> dict[str, float]:
    """Steady ms per epoch from the difference of a long and a short trial; fixed costs."""
    kwargs = {"max_epochs": long, "patience": long}
    cold, cached, steady = [], [], []
    for r in range(repeats):
        objective = objective_for(task, fast, any_widths, **kwargs)  # nothing compiled yet
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
    ``archs`` on the fast path now and before (one trace an architecture), after one model of
    each depth has been trained (as a search's first trials do). The two paths take turns.
    ``known``: the same on the fast path now, for the architecture's second trial."""
    objectives = {
        path: objective_for(task, True, path == "now", max_epochs=4, patience=4)
        for path in ("now", "before")
    }
    for objective in objectives.values():
        for depth in range(4):
            timed(objective, (depth, WARM_WIDTH), 1, seed=depth)
    costs: dict[str, list[np.ndarray]] = {path: [] for path in objectives}
    costs["known"] = []
    for i, arch in enumerate(archs):
        for path, objective in objectives.items():
            first = timed_both(objective, arch, 1, seed=10 + i)  # a new architecture
            ones, threes = [], []
            for _ in range(2):
                ones.append(timed_both(objective, arch, 1, seed=10 + i))  # known now
                threes.append(timed_both(objective, arch, 3, seed=10 + i))
            steady = np.min(np.subtract(threes, ones), axis=0) / 2
            costs[path].append(1e3 * (first - steady))
            if path == "now":
                costs["known"].append(1e3 * (ones[0] - steady))
    return {path: np.array(c) for path, c in costs.items()}


def learning(task, seeds: list[int]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"fast": [], "fit": []}
    for fast, name in ((True, "fast"), (False, "fit")):
        objective = KerasObjective(build_mlp, task, max_epochs=20, patience=20, fast=fast)
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
        f"inter-op {threads.get_inter_op_parallelism_threads() or 'default'} (both paths)"
    )
    print()
    archs = new_architectures(6 if args.quick else 12)
    start = trial_start(task, archs)
    now, then, known = start["now"], start["before"], start["known"]
    print(f"trial start of {len(archs)} new architectures from the book's space, each depth")
    print("traced once before (build + first epoch - steady epoch), ms, wall and CPU time;")
    print("known: the fast path now, on the architecture's second trial")
    columns = ("now", "before", "known", "now CPU", "before CPU", "known CPU")
    print(f"  {'architecture':<13}" + "".join(f" {c:>10}" for c in columns))
    for arch, a, b, k in zip(archs, now, then, known, strict=True):
        values = (a[0], b[0], k[0], a[1], b[1], k[1])
        print(f"  {f'{arch[0]} x {arch[1]}':<13}" + "".join(f" {v:>10.0f}" for v in values))
    medians = [np.median(c, axis=0) for c in (now, then, known)]
    values = [m[0] for m in medians] + [m[1] for m in medians]
    print(f"  {'median':<13}" + "".join(f" {v:>10.0f}" for v in values))
    print(
        f"  before/now {medians[1][0] / medians[0][0]:.1f}x wall, "
        f"{medians[1][1] / medians[0][1]:.1f}x CPU; now/known {medians[0][0] / medians[2][0]:.2f}x "
        f"wall, {medians[0][1] / medians[2][1]:.2f}x CPU"
    )
    print()
    if args.start_only:
        return
    header = (
        f"{'model':<15} {'fit ms/epoch':>12} {'fast ms/epoch':>13} {'speed-up':>9} "
        f"{'bound ms':>9} {'fast/bound':>10} {'fast before':>11} {'before/now':>10}"
    )
    print(header)
    fixed_rows = []
    for label, arch in ARCHITECTURES.items():
        fit = speed(task, arch, fast=False, short=1, long=4, repeats=repeats)
        fast = speed(task, arch, fast=True, short=2, long=22, repeats=repeats)
        before = speed(task, arch, True, short=2, long=22, repeats=repeats, any_widths=False)
        bound = 1e3 * epoch_flops(n_rows, n_inputs, *arch) / peak
        print(
            f"{label:<15} {fit['epoch_ms']:>12.1f} {fast['epoch_ms']:>13.1f} "
            f"{fit['epoch_ms'] / fast['epoch_ms']:>8.1f}x {bound:>9.2f} "
            f"{fast['epoch_ms'] / bound:>9.0f}x {before['epoch_ms']:>11.1f} "
            f"{before['epoch_ms'] / fast['epoch_ms']:>9.2f}x"
        )
        fixed_rows.append((label, fit, fast, before))
    print()
    print("per-trial fixed cost (build + first epoch - steady epoch), ms")
    print(
        f"{'model':<15} {'fit':>8} {'fast, first of its depth':>25} {'fast, cached arch':>18} "
        f"{'before, new arch':>17}"
    )
    for label, fit, fast, before in fixed_rows:
        print(
            f"{label:<15} {fit['fixed_cold_ms']:>8.0f} {fast['fixed_cold_ms']:>25.0f} "
            f"{fast['fixed_cached_ms']:>18.0f} {before['fixed_cold_ms']:>17.0f}"
        )
    print()
    from scipy.stats import mannwhitneyu, wilcoxon

    curves = learning(task, seeds)
    fast_mse, fit_mse = np.array(curves["fast"]), np.array(curves["fit"])
    print(f"validation MSE after 20 epochs, 2x30, seeds {seeds}:")
    print(f"  fast: {np.round(fast_mse, 4).tolist()}  median {np.median(fast_mse):.4f}")
    print(f"  fit:  {np.round(fit_mse, 4).tolist()}  median {np.median(fit_mse):.4f}")
    p_paired = wilcoxon(fast_mse, fit_mse).pvalue
    p_mwu = mannwhitneyu(fast_mse, fit_mse).pvalue
    verdict = "indistinguishable" if min(p_paired, p_mwu) > 0.05 else "DIFFERENT"
    print(f"  Wilcoxon p = {p_paired:.3f}, Mann-Whitney p = {p_mwu:.3f}: {verdict} at 5 %")


if __name__ == "__main__":
    main()

"""Parallel trials: throughput with 1 and 2 worker processes, and Ray's per-trial overhead.

1. Throughput on the book task: the same random-search study (the same trials: each trains
   its full epoch grant, no early stopping) inline, with ``executor="processes"`` and 1
   worker, and with 2 workers; trials per minute and the 2-worker / 1-worker ratio
   (target >= 1.8x on 2 cores). Each pool is started and warmed once before it is timed;
   the start is printed apart.
2. Per-trial framework overhead of ``executor="ray"`` against Ray Tune's own ``Tuner``, on a
   trivial objective, on the same local Ray instance: seconds per trial of each, and the ratio.

    python benchmarks/parallel.py              # about 5 minutes on 2 cores
    python benchmarks/parallel.py --trials 12 --ray-trials 40
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tunebench import Budget, Float, KerasObjective, Space, tune
from tunebench.executors import ProcessExecutor
from tunebench.models import book_space, build_mlp
from tunebench.tasks import california_housing


def throughput(trials: int, epochs: int) -> None:
    task = california_housing()
    # patience > epochs: every trial trains exactly `epochs` epochs, whatever the executor
    objective = KerasObjective(build_mlp, task, max_epochs=epochs, patience=epochs + 1)
    print(
        f"throughput: {trials} random-search trials of {epochs} epochs on the full book task "
        f"({task.sizes['train']:,} training rows)",
        flush=True,
    )

    def run(executor: object, n: int, seed: int) -> float:
        start = time.perf_counter()
        study = tune(
            objective,
            book_space(),
            strategy="random",
            budget=Budget(trials=n),
            seed=seed,
            executor=executor,
            progress=False,
        )
        # the same trials whatever the executor; a diverged one stops early in all of them
        assert len(study.trials) == n and not any(t.status == "failed" for t in study.trials)
        return n / ((time.perf_counter() - start) / 60)

    rates = {"inline (all cores)": run("inline", trials, 0)}
    print(f"  {'inline (all cores)':<22} {rates['inline (all cores)']:6.1f} trials/min", flush=True)
    for workers in (1, 2):
        started = time.perf_counter()
        pool = ProcessExecutor(workers=workers)
        try:
            # The pool is started and warmed (TensorFlow imported in every worker) once, as a
            # benchmark or a long study would; the start is printed apart from the rate.
            run(pool, 2 * workers, seed=1000)
            warm = time.perf_counter() - started
            label = f"processes, {workers} worker{'s' if workers > 1 else ''}"
            rates[label] = run(pool, trials, 0)
        finally:
            pool.close()
        print(
            f"  {label:<22} {rates[label]:6.1f} trials/min  (pool start and warm-up {warm:.1f} s,"
            f" {pool.threads} TF thread{'s' if pool.threads > 1 else ''} a worker)",
            flush=True,
        )
    ratio = rates["processes, 2 workers"] / rates["processes, 1 worker"]
    print(f"  2 workers / 1 worker: {ratio:.2f}x  (inline: {rates['inline (all cores)']:.1f})\n")


def trivial(x: float) -> float:
    return (x - 0.3) ** 2


def ray_overhead(trials: int) -> None:
    import ray
    from ray import tune as ray_tune

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        space = Space(x=Float(0, 1))
        tune(trivial, space, budget=Budget(trials=4), executor="ray", workers=2, progress=False)
        start = time.perf_counter()
        tune(
            trivial, space, budget=Budget(trials=trials), executor="ray", workers=2, progress=False
        )
        ours = (time.perf_counter() - start) / trials

        def trainable(config: dict) -> dict:
            return {"loss": trivial(config["x"])}

        def run_ray_tune(n: int) -> None:
            ray_tune.Tuner(
                trainable,
                param_space={"x": ray_tune.uniform(0, 1)},
                tune_config=ray_tune.TuneConfig(num_samples=n, metric="loss", mode="min"),
                run_config=ray_tune.RunConfig(verbose=0, storage_path="/tmp/ray-tune-overhead"),
            ).fit()

        run_ray_tune(2)
        start = time.perf_counter()
        run_ray_tune(trials)
        theirs = (time.perf_counter() - start) / trials
    finally:
        ray.shutdown()
    print(f"Ray: {trials} trials of a trivial objective, 2 CPUs, seconds per trial")
    print(f"  tunebench executor='ray'   {ours:7.3f}")
    print(f"  Ray Tune Tuner             {theirs:7.3f}")
    print(f"  tunebench / Ray Tune: {ours / theirs:.3g}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="Keras trials per executor")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per Keras trial")
    parser.add_argument("--ray-trials", type=int, default=100)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    if not args.skip_throughput:
        throughput(args.trials, args.epochs)
    if not args.skip_ray:
        ray_overhead(args.ray_trials)


if __name__ == "__main__":
    main()

"""Framework overhead: ``tune()`` against each backend driven directly, side by side.

A trivial objective (a 3-d bowl: no training at all), the same number of trials, the same
seed; everything measured is the search machinery. For each strategy it prints the wall
seconds per trial of the raw library and of ``tune()`` (in memory, and writing every trial
to a SQLite store), and their ratios. The goal is ``tune()`` within 1.2x of the raw library.

    python benchmarks/overhead.py                 # 200 trials each; gp dominates (minutes)
    python benchmarks/overhead.py --trials 100 --strategies random,tpe,optuna-tpe
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tunebench import Budget, Float, Space, tune

SPACE = Space(x=Float(-5, 5), y=Float(-5, 5), lr=Float(1e-4, 1e-1, log=True))


def bowl(x: float, y: float, lr: float) -> float:
    return (x - 1.0) ** 2 + (y + 2.0) ** 2 + (np.log10(lr) + 2.5) ** 2


def raw_hyperopt(algo_name: str, trials: int, seed: int) -> None:
    from functools import partial

    from hyperopt import Trials, fmin, hp, rand, tpe

    # The settings of tunebench's `tpe` (hyperopt's defaults are n_startup_jobs=20, gamma=0.25).
    tpe_like_ours = partial(tpe.suggest, n_startup_jobs=10, gamma=1.0)
    algo = {"tpe": tpe_like_ours, "random": rand.suggest}[algo_name]
    space = {
        "x": hp.uniform("x", -5, 5),
        "y": hp.uniform("y", -5, 5),
        "lr": hp.loguniform("lr", np.log(1e-4), np.log(1e-1)),
    }
    fmin(
        lambda p: bowl(**p),
        space,
        algo=algo,
        max_evals=trials,
        trials=Trials(),
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )


def raw_skopt(trials: int, seed: int) -> None:
    from skopt import Optimizer
    from skopt.space import Real

    opt = Optimizer(
        [Real(-5, 5), Real(-5, 5), Real(1e-4, 1e-1, prior="log-uniform")],
        base_estimator="GP",
        acq_func="gp_hedge",
        n_initial_points=10,
        random_state=seed,
    )
    for _ in range(trials):
        x = opt.ask()
        opt.tell(x, bowl(*x))


def raw_optuna(trials: int, seed: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        sampler=optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=10, multivariate=True, constant_liar=True
        )
    )
    study.optimize(
        lambda t: bowl(
            t.suggest_float("x", -5, 5),
            t.suggest_float("y", -5, 5),
            t.suggest_float("lr", 1e-4, 1e-1, log=True),
        ),
        n_trials=trials,
    )


RAW: dict[str, tuple[str, Callable[[int, int], None]]] = {
    "random": ("hyperopt fmin(rand.suggest)", lambda n, s: raw_hyperopt("random", n, s)),
    "tpe": ("hyperopt fmin(tpe.suggest)", lambda n, s: raw_hyperopt("tpe", n, s)),
    "gp": ("skopt Optimizer ask/tell loop", raw_skopt),
    "optuna-tpe": ("optuna study.optimize", raw_optuna),
}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_times(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Each function's median time over ``repeats`` rounds, the functions alternating within a
    round so that a change in the machine's load hits all of them alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            times[i].append(timed(fn))
    return [float(np.median(t)) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategies", default=",".join(RAW), help="comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="median of this many, alternated")
    args = parser.parse_args()
    logging.getLogger("hyperopt").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    n = args.trials
    print(
        f"{n} trials of a trivial 3-d objective, seed {args.seed}; ms per trial, "
        f"median of {args.repeats}\n"
    )
    header = f"{'strategy':<11} {'raw library':<32} {'raw':>8} {'tune':>8} {'+store':>8}"
    print(header + f" {'tune/raw':>9} {'+store/raw':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.strategies.split(","):
            label, raw = RAW[name]
            run = dict(strategy=name, budget=Budget(trials=n), seed=args.seed, progress=False)
            db = Path(tmp) / f"{name}.db"

            def with_store(run=run, db=db) -> None:
                db.unlink(missing_ok=True)
                tune(bowl, SPACE, storage=db, **run)

            raw(5, args.seed)  # imports and first-call costs out of the way
            tune(bowl, SPACE, **{**run, "budget": Budget(trials=5)})
            t_raw, t_tune, t_store = median_times(
                [
                    lambda raw=raw: raw(n, args.seed),
                    lambda run=run: tune(bowl, SPACE, **run),
                    with_store,
                ],
                args.repeats,
            )
            ms = [1000 * t / n for t in (t_raw, t_tune, t_store)]
            print(
                f"{name:<11} {label:<32} {ms[0]:>8.2f} {ms[1]:>8.2f} {ms[2]:>8.2f}"
                f" {t_tune / t_raw:>8.2f}x {t_store / t_raw:>10.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()

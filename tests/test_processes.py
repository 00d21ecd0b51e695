"""executor="processes": real worker processes on this machine."""

from __future__ import annotations

import os
import signal

import pytest

from tunebench import Budget, Float, KerasObjective, Result, Space, tune
from tunebench.models import book_space, build_mlp


def test_two_workers_match_the_inline_run(small_housing, tmp_path):
    # patience > max_epochs: every trial trains its full grant, so the budget splits into the
    # same trials whether they run one at a time or two at once.
    objective = KerasObjective(build_mlp, small_housing, max_epochs=4, patience=10)
    kwargs = dict(strategy="random", budget=Budget(epochs=30), seed=5, progress=False)
    inline = tune(objective, book_space(), **kwargs)
    parallel = tune(
        objective,
        book_space(),
        executor="processes",
        workers=2,
        storage=tmp_path / "runs.db",
        **kwargs,
    )
    assert len({t.worker for t in parallel.trials}) == 2
    assert all(str(os.getpid()) not in t.worker for t in parallel.trials)
    assert [t.params for t in parallel.trials] == [t.params for t in inline.trials]
    assert parallel.epochs_spent == inline.epochs_spent == 30
    for a, b in zip(parallel.trials, inline.trials, strict=True):
        assert a.loss == pytest.approx(b.loss, rel=1e-3)
    assert set(parallel.to_dataframe()["worker"]) == {t.worker for t in parallel.trials}


class KillsItsWorker:
    """An objective whose trial 3 is killed by SIGKILL mid-trial (as the OOM killer would)."""

    max_epochs = None

    def evaluate(self, suggestion, state=None):
        if suggestion.id == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return Result(loss=(suggestion.params["x"] - 0.3) ** 2)


def test_a_killed_worker_fails_its_trial_and_the_study_goes_on():
    study = tune(
        KillsItsWorker(),
        Space(x=Float(0, 1)),
        strategy="tpe",
        budget=Budget(trials=12),
        executor="processes",
        workers=2,
        progress=False,
    )
    assert len(study.trials) == 12
    killed = next(t for t in study.trials if t.id == 3)
    assert killed.status == "failed"
    assert "died during the trial" in killed.error and "exit code -9" in killed.error
    assert sum(t.status == "ok" for t in study.trials) == 11
    assert len({t.worker for t in study.trials}) == 3  # the dead worker was replaced


def test_bad_executor_arguments_are_explained():
    with pytest.raises(ValueError, match="unknown executor 'threads'"):
        tune(lambda x: x, Space(x=Float(0, 1)), budget=Budget(trials=1), executor="threads")
    with pytest.raises(ValueError, match="workers=2"):
        tune(lambda x: x, Space(x=Float(0, 1)), budget=Budget(trials=1), workers=2)
    with pytest.raises(ValueError, match="workers must be a positive integer, got 0"):
        tune(
            lambda x: x,
            Space(x=Float(0, 1)),
            budget=Budget(trials=1),
            executor="processes",
            workers=0,
        )


def test_one_pool_serves_several_studies_and_is_left_open():
    from tunebench.executors import make_executor

    pool = make_executor("processes", workers=2)
    try:
        workers = set()
        for seed in (0, 1):
            study = tune(
                lambda x: (x - 0.3) ** 2,
                Space(x=Float(0, 1)),
                strategy="random",
                budget=Budget(trials=6),
                seed=seed,
                executor=pool,
                progress=False,
            )
            assert len(study.trials) == 6
            workers |= {t.worker for t in study.trials}
        assert len(workers) == 2  # the same two processes ran both studies
    finally:
        pool.close()


def test_the_benchmark_runs_through_worker_processes(tmp_path):
    from tunebench.bench import run_benchmark

    report = run_benchmark(
        ["random", "tpe"],
        seeds=1,
        budget_epochs=6,
        storage=tmp_path / "runs.db",
        out_dir=tmp_path,
        subsample=300,
        max_epochs=3,
        executor="processes",
        workers=2,
        progress=False,
    )
    assert report.exists()
    from tunebench import load_study

    for name in ("random-seed0", "tpe-seed0"):
        study = load_study(tmp_path / "runs.db", name)
        assert study.epochs_spent <= 6 and all(t.status == "ok" for t in study.trials)

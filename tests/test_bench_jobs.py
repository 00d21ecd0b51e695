"""``jobs``: a benchmark's runs in worker processes, each run's trials inline. The same trials
as one run at a time (synthetic and Keras problems), noted on the protocol card, refused beside
a trial executor, and usable from a plain script without a ``__main__`` guard."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tunebench import Store, load_study
from tunebench.bench import run_benchmark

SYNTHETIC = {"strategies": ["random", "tpe", "hyperband"], "seeds": 2, "budget_epochs": 243}


def _trials(storage) -> dict[str, list[tuple]]:
    """Every run's trials: parameters, epochs and loss, in the order they were made."""
    with Store(storage) as store:
        names = store.study_names()
    runs = {}
    for name in names:
        frame = load_study(storage, name).to_dataframe()
        columns = sorted(c for c in frame.columns if c.startswith("param_"))
        runs[name] = [tuple(row) for row in frame[[*columns, "epochs", "loss"]].to_numpy()]
    return runs


def test_runs_at_a_time_make_the_same_trials_as_one_at_a_time(tmp_path):
    one = run_benchmark(problems="branin", out_dir=tmp_path / "one", progress=False, **SYNTHETIC)
    two = run_benchmark(
        problems="branin", out_dir=tmp_path / "two", progress=False, jobs=2, **SYNTHETIC
    )
    alone, beside = _trials(one.parent / "runs.db"), _trials(two.parent / "runs.db")
    assert len(alone) == 6 and alone == beside
    assert "| executor | inline, 2 runs at a time (6 runs) |" in two.read_text()
    assert "| executor | inline (6 runs) |" in one.read_text()


def test_keras_runs_at_a_time_train_as_one_at_a_time(tmp_path):
    # Each worker runs TensorFlow on one thread: the losses agree to float tolerance.
    settings = {"subsample": 60, "max_epochs": 3, "progress": False}
    kwargs = {"strategies": ["random"], "seeds": 2, "budget_epochs": 9, **settings}
    one = run_benchmark(problems="breast_cancer", out_dir=tmp_path / "one", **kwargs)
    two = run_benchmark(problems="breast_cancer", out_dir=tmp_path / "two", jobs=2, **kwargs)
    alone, beside = _trials(one.parent / "runs.db"), _trials(two.parent / "runs.db")
    assert sorted(alone) == sorted(beside) and len(alone) == 2
    for name, trials in alone.items():
        assert [t[:-1] for t in trials] == [t[:-1] for t in beside[name]]
        assert [t[-1] for t in trials] == pytest.approx([t[-1] for t in beside[name]], rel=1e-4)


@pytest.mark.parametrize("jobs, executor", [(2, "processes"), (0, "inline"), (True, "inline")])
def test_bad_jobs_are_refused_before_any_run(tmp_path, jobs, executor):
    with pytest.raises(ValueError, match=rf"jobs={jobs!r}|got {jobs!r}"):
        run_benchmark(
            problems="branin", out_dir=tmp_path, jobs=jobs, executor=executor, **SYNTHETIC
        )
    assert not (tmp_path / "runs.db").exists()


def test_a_plain_script_runs_its_own_problem_two_runs_at_a_time(tmp_path):
    # No __main__ guard, the problem defined in the script itself: the workers must neither
    # run the script again nor fail to find its functions.
    script = tmp_path / "bench_mine.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from tunebench import Float, FunctionObjective, Space
            from tunebench.bench import run_benchmark
            from tunebench.problems import Problem

            def valley(x, epochs):
                return (x - 0.7) ** 2 + 1.0 / epochs

            def make_objective():
                return FunctionObjective(valley, max_epochs=4)

            mine = Problem("valley", Space(x=Float(0.0, 1.0)), make_objective)
            run_benchmark(["random", "tpe"], seeds=2, budget_epochs=12, problems=[mine],
                          out_dir={str(tmp_path / "out")!r}, jobs=2, progress=False)
            print("script ran")
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("script ran") == 1
    assert "[4/4]" in done.stderr
    with Store(tmp_path / "out" / "runs.db") as store:
        assert len(store.study_names()) == 4

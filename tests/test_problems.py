"""Benchmark problems: a user's own problem, defined outside tunebench (``tests_helpers``),
run by ``tunebench bench --problems package.module:attribute``; the registry's errors; the
checks that stop a benchmark before its first run."""

from __future__ import annotations

import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests_helpers import module as helpers

from tunebench import Budget, Result, Store, Suggestion, write_report
from tunebench.bench import run_benchmark, study_name
from tunebench.cli import main
from tunebench.problems import (
    Problem,
    ProblemError,
    available_problems,
    get_problem,
    register,
    unregister,
)

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TINY = {"strategies": ["random", "tpe"], "seeds": 2, "budget_epochs": 12, "progress": False}


def _tunebench() -> list[str]:
    """The installed command, as a user runs it (it does not put the current folder on
    ``sys.path`` itself, unlike ``python -m``)."""
    script = Path(sys.executable).with_name("tunebench")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tunebench.cli"]


def stored(storage: Path) -> dict:
    with Store(storage) as store:
        return {name: store.load_study(name) for name in store.study_names()}


def test_a_users_problem_runs_through_the_command_line(tmp_path):
    out = tmp_path / "out"
    command = [
        *_tunebench(),
        "bench",
        "--problems",
        "tests_helpers.module:problem",
        "--strategies",
        "random,tpe",
        "--seeds",
        "2",
        "--budget-epochs",
        "12",
        "--max-epochs",
        "4",
        "--no-progress",
        "--out",
        str(out),
    ]
    # Run from the folder holding the user's package, which is not on PYTHONPATH.
    env = {**os.environ, "PYTHONPATH": str(ROOT), helpers.CALLS_ENV: str(tmp_path / "calls")}
    done = subprocess.run(command, cwd=TESTS, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    studies = stored(out / "runs.db")
    assert sorted(studies) == sorted(
        study_name(s, k, "bowl") for s in ("random", "tpe") for k in (0, 1)
    )
    assert sorted(studies) == [
        "bowl/random-seed0",
        "bowl/random-seed1",
        "bowl/tpe-seed0",
        "bowl/tpe-seed1",
    ]
    for study in studies.values():
        assert study.stop_reason == "epochs" and study.epochs_spent == 12
        assert study.objective["fn"] == "bowl" and study.objective["max_epochs"] == 4
        assert all(t.epochs_run <= 4 for t in study.trials)  # --max-epochs reached the factory
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == sum(len(s.trials) for s in studies.values())
    with sqlite3.connect(out / "runs.db") as db:
        (note,) = db.execute("SELECT value FROM meta WHERE key = 'benchmark'").fetchone()
    assert '"problem": "bowl"' in note
    report = (out / "report.md").read_text()
    assert report.startswith("# Benchmark report: 2 search strategies on bowl")
    assert "Scores are the bowl's height at the chosen point (lower is better)." in report
    assert "the bowl's floor — **external reference, not run here**" in report
    assert "## Time to the reference" in report and "first reached 0.135" in report
    assert "MSE" not in report and "book" not in report  # nothing of the book's problem
    assert "median validation bowl loss" in done.stdout

    # The same command again resumes: everything is finished, nothing runs.
    again = subprocess.run(command, cwd=TESTS, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "all 4 runs are finished in the store" in again.stderr
    assert len((tmp_path / "calls").read_text().splitlines()) == len(calls)


def test_an_unknown_problem_name_lists_the_valid_ones_with_a_close_match(tmp_path, capsys):
    assert main(["bench", "--problems", "california_housng", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tunebench: error: unknown problem 'california_housng'")
    assert "did you mean 'california_housing'?" in err
    assert all(name in err for name in available_problems())
    assert "package.module:attribute" in err
    with pytest.raises(ValueError, match=r"no attribute 'problm'.*its problems: .*problem"):
        get_problem("tests_helpers.module:problm")
    with pytest.raises(ValueError, match=r"cannot import the module 'tests_helpers\.nowhere'"):
        get_problem("tests_helpers.nowhere:problem")
    with pytest.raises(ValueError, match=r"'tests_helpers\.module:bowl' is a function, not a"):
        get_problem("tests_helpers.module:bowl")
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_factory_that_raises_stops_the_benchmark_before_its_first_run(tmp_path, monkeypatch):
    calls = tmp_path / "calls"
    monkeypatch.setenv(helpers.CALLS_ENV, str(calls))
    problems = [helpers.problem, "tests_helpers.module:failing"]
    with pytest.raises(ProblemError) as info:
        run_benchmark(problems=problems, out_dir=tmp_path / "out", **TINY)
    message = str(info.value)
    assert message.startswith("problem 'broken_bowl': its make_objective() raised")
    assert "FileNotFoundError: no data at /nowhere/bowl.csv" in message
    assert not calls.exists()  # the first problem, fine, did not run either
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("runs.db"))


def test_a_space_name_the_objective_does_not_take_stops_before_the_first_run(
    tmp_path, monkeypatch, capsys
):
    calls = tmp_path / "calls"
    monkeypatch.setenv(helpers.CALLS_ENV, str(calls))
    monkeypatch.chdir(TESTS)
    flags = ["--strategies", "random", "--seeds", "1", "--budget-epochs", "5", "--no-progress"]
    problems = "tests_helpers.module:problem,tests_helpers.module:misnamed"
    code = main(["bench", "--problems", problems, *flags, "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("tunebench: error: problem 'misnamed_bowl': the function bowl")
    assert "does not take 'depth'" in err
    assert not calls.exists()


def test_a_setting_no_problem_takes_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"subsample=300: no problem's make_objective takes it"):
        run_benchmark(problems=[helpers.problem], out_dir=tmp_path, subsample=300, **TINY)


def test_several_problems_get_a_store_and_report_each(tmp_path):
    other = Problem("bowl_again", helpers.problem.space, helpers.make_objective)
    out = tmp_path / "out"
    index = run_benchmark(problems=[helpers.problem, other], out_dir=out, max_epochs=3, **TINY)
    assert index == out / "report.md"
    assert "[bowl](bowl/report.md)" in index.read_text()
    assert "[bowl_again](bowl_again/report.md)" in index.read_text()
    assert sorted(stored(out / "bowl" / "runs.db")) == [
        f"bowl/{s}-seed{k}" for s in ("random", "tpe") for k in (0, 1)
    ]
    again = stored(out / "bowl_again" / "runs.db")
    assert len(again) == 4 and all(s.objective["max_epochs"] == 3 for s in again.values())
    assert (out / "bowl_again" / "report.md").read_text().count("external reference") == 0
    with pytest.raises(ValueError, match="leave out storage"):
        run_benchmark(problems=[helpers.problem, other], storage=tmp_path / "x.db", **TINY)
    # One store holds one problem: another problem's benchmark is refused, not mixed in.
    with pytest.raises(ValueError, match="holds a benchmark of the problem 'bowl', not"):
        run_benchmark(problems=[other], storage=out / "bowl" / "runs.db", out_dir=out, **TINY)


def test_the_book_problem_is_built_in_and_declared_as_an_entry_point():
    book = get_problem("california_housing")
    assert book.name == "california_housing" and book.settings_taken == (
        "subsample",
        "max_epochs",
        "patience",
    )
    settings, unused = book.settings({"subsample": None, "max_epochs": None, "patience": 3})
    assert settings == {"subsample": None, "max_epochs": 100, "patience": 3} and unused == []
    assert study_name("tpe", 1) == "tpe-seed1"  # the book's runs keep their names
    pyproject = (ROOT / "pyproject.toml").read_text()
    group = pyproject.split('[project.entry-points."tunebench.problems"]\n', 1)[1]
    assert group.startswith('california_housing = "tunebench.suite:california_housing"\n')
    assert pickle.loads(pickle.dumps(helpers.problem)) == helpers.problem


def test_problems_register_at_run_time_and_are_listed(capsys):
    mine = Problem("bowl_registered", helpers.problem.space, helpers.make_objective)
    register(mine)
    try:
        assert get_problem("bowl_registered") is mine
        assert main(["problems"]) == 0
        listed = capsys.readouterr().out
        assert "california_housing" in listed and "bowl_registered" in listed
        with pytest.raises(ValueError, match="'bowl_registered' is already registered"):
            register(mine)
        with pytest.raises(ValueError, match="'california_housing' is already registered"):
            register(Problem("california_housing", mine.space, helpers.make_objective))
    finally:
        unregister("bowl_registered")
    assert "bowl_registered" not in available_problems()
    with pytest.raises(ValueError, match="a problem name must be letters, digits"):
        Problem("my bowl", mine.space, helpers.make_objective)
    with pytest.raises(TypeError, match="make_objective must be a callable"):
        Problem("bowl", mine.space, "make_objective")


def test_runs_without_a_test_loss_are_still_compared_with_random_search(tmp_path):
    """A problem's objective may report no test loss; random search's runs did not fail."""
    with Store(tmp_path / "runs.db") as store:
        for strategy, losses in (("random", (0.5, 0.6)), ("tpe", (0.4, 0.45))):
            for seed, loss in enumerate(losses):
                record = store.open_study(
                    study_name(strategy, seed),
                    strategy=strategy,
                    seed=seed,
                    space=helpers.problem.space.to_json(),
                    budget=Budget(epochs=4).to_json(),
                    objective={"type": "function", "max_epochs": 4},
                )
                suggestion = Suggestion(id=0, params={"x": 0.5, "width": 1}, epochs=4, seed=seed)
                store.record_start(record.id, suggestion, 0, None)
                result = Result(loss=loss, epochs_run=4, seconds=0.1)  # no test_loss
                store.record_result(record.id, suggestion, result, tell_seq=1, study_seconds=0.2)
                store.finish_study(record.id, seconds=0.2, stop_reason="epochs")
    verdict = write_report(tmp_path / "runs.db", tmp_path).read_text().split("## Verdict")[1]
    verdict = verdict.split("##")[0]
    assert "Random search has no successful run" not in verdict
    assert "Random search reached 0.5500 (test —): a difference of -0.1250" in verdict

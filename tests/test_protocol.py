"""Benchmark protocols: each problem with its own seeds, budget and settings
(``tunebench.bench.ProblemPlan``), run by ``run_protocol`` and by ``tunebench bench`` with no
run flags (the quick protocol) or ``--full`` (the publication protocol, or part of it)."""

from __future__ import annotations

import pytest
from tests_helpers import module as helpers

from tunebench import Store, bench
from tunebench.bench import ProblemPlan, run_protocol
from tunebench.cli import main
from tunebench.problems import Problem

OTHER = Problem("bowl_again", helpers.problem.space, helpers.make_objective, budget_epochs=10)
TINY_PLANS = (
    ProblemPlan(helpers.problem, seeds=2, budget_epochs=12, settings={"max_epochs": 3}),
    ProblemPlan(OTHER, seeds=[4]),
)


def studies(storage):
    with Store(storage) as store:
        return {name: store.load_study(name) for name in store.study_names()}


def test_each_problem_of_a_protocol_gets_its_own_seeds_budget_and_settings(tmp_path):
    report = run_protocol(TINY_PLANS, ["random", "tpe"], out_dir=tmp_path, progress=False)
    assert report == tmp_path / "report.md"
    bowl = studies(tmp_path / "bowl" / "runs.db")
    assert sorted(bowl) == [f"bowl/{s}-seed{k}" for s in ("random", "tpe") for k in (0, 1)]
    assert {s.budget.epochs for s in bowl.values()} == {12}
    assert {s.objective["max_epochs"] for s in bowl.values()} == {3}
    again = studies(tmp_path / "bowl_again" / "runs.db")
    assert sorted(again) == ["bowl_again/random-seed4", "bowl_again/tpe-seed4"]
    # No budget in the plan: the problem's own; no settings: the factory's defaults.
    assert {s.budget.epochs for s in again.values()} == {10}
    assert {s.objective["max_epochs"] for s in again.values()} == {8}


def test_a_plan_setting_its_problem_does_not_take_is_refused_before_any_run(tmp_path):
    plans = [ProblemPlan(helpers.problem, seeds=1, budget_epochs=4, settings={"subsample": 9})]
    with pytest.raises(ValueError, match=r"problem 'bowl': .* does not take subsample"):
        run_protocol(plans, ["random"], out_dir=tmp_path, progress=False)
    assert not (tmp_path / "runs.db").exists()


def test_the_command_runs_the_quick_protocol_when_given_no_run_flags(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "QUICK_PROTOCOL", TINY_PLANS)
    out = tmp_path / "quick"
    code = main(["bench", "--strategies", "random", "--out", str(out), "--no-progress"])
    assert code == 0
    assert len(studies(out / "bowl" / "runs.db")) == 2
    assert sorted(studies(out / "bowl_again" / "runs.db")) == ["bowl_again/random-seed4"]


def test_full_with_problems_runs_that_part_of_the_publication_protocol(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(bench, "FULL_PROTOCOL", TINY_PLANS)
    out = tmp_path / "full"
    flags = ["--strategies", "random", "--out", str(out), "--no-progress"]
    assert main(["bench", "--full", "--problems", "bowl_again", *flags]) == 0
    # Into the folder the whole protocol uses: a part resumes into the same stores.
    assert sorted(studies(out / "bowl_again" / "runs.db")) == ["bowl_again/random-seed4"]
    # Flags that would change the fixed protocol, and problems outside it, are refused.
    assert main(["bench", "--full", "--seeds", "3", *flags]) == 2
    assert "drop --seeds or drop --full" in capsys.readouterr().err
    assert main(["bench", "--full", "--problems", "california_housing", *flags]) == 2
    err = capsys.readouterr().err
    assert "california_housing is not in the full protocol, whose problems are bowl" in err


def test_full_runs_tpe_under_asha_beside_every_registered_strategy(tmp_path, monkeypatch):
    import tunebench.strategy

    monkeypatch.setattr(
        bench, "FULL_PROTOCOL", (ProblemPlan("branin", seeds=1, budget_epochs=300),)
    )
    monkeypatch.setattr(tunebench.strategy, "available_strategies", lambda: ["random"])
    out = tmp_path / "full"
    assert main(["bench", "--full", "--out", str(out), "--no-progress"]) == 0
    runs = studies(out / "branin" / "runs.db")
    assert sorted(runs) == [f"branin/{s}-seed0" for s in ("random", "tpe+asha")]
    assert any(t.status == "pruned" for t in runs["branin/tpe+asha-seed0"].trials)

"""Conclusions across problems (``tunebench.report.across``, ``write_suite_report``): real
stores written by ``run_benchmark`` on cheap function problems (a call costs microseconds),
and a hand-made store whose ranks and scores are worked out by hand."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from tunebench import Budget, Float, FunctionObjective, Result, Space, Store, Suggestion
from tunebench.bench import run_benchmark, study_name
from tunebench.problems import Problem
from tunebench.report import load_runs, write_report
from tunebench.report.across import (
    ProblemRuns,
    Scale,
    block_ranks,
    friedman,
    group_statistics,
    mean_ranks,
    objective_kind,
    scale_of,
    score_differences,
)
from tunebench.report.stats import bootstrap_mean, detectable_effect_size, paired_effects
from tunebench.report.suite_report import write_suite_report
from tunebench.strategies.random_search import RandomSearch
from tunebench.strategy import Strategy, register, unregister

PNG = b"\x89PNG\r\n\x1a\n"
INF = math.inf


# --- problems: a function of x and of the epochs it is charged; x = 1.0 fails the trial ----


def valley(x: float, epochs: int) -> float:
    """Lowest (0) at x = 0.5, a point of the default grid (0, 0.25, ..., 1)."""
    if x == 1.0:
        raise ValueError("x hit the wall at 1.0")
    return (x - 0.5) ** 2


def slope(x: float, epochs: int) -> float:
    """Lowest (0.1) at x = 0.2, between the grid's points."""
    if x == 1.0:
        raise ValueError("x hit the wall at 1.0")
    return (x - 0.2) ** 2 + 0.1


def broken(x: float, epochs: int) -> float:
    raise RuntimeError("this problem's every trial fails")


def make_valley(max_epochs: int = 2) -> FunctionObjective:
    return FunctionObjective(valley, max_epochs=max_epochs)


def make_slope(max_epochs: int = 2) -> FunctionObjective:
    return FunctionObjective(slope, max_epochs=max_epochs)


def make_broken(max_epochs: int = 2) -> FunctionObjective:
    return FunctionObjective(broken, max_epochs=max_epochs)


SPACE = Space(x=Float(0.0, 1.0))
PROBLEMS = [
    Problem("valley", SPACE, make_valley),
    Problem("slope", SPACE, make_slope),
    Problem("broken", SPACE, make_broken),
]


class Twin(RandomSearch):
    """Random search drawing from another stream: equal to random in distribution."""

    def __init__(self, space: Space, seed: int | None = None) -> None:
        super().__init__(space, None if seed is None else seed + 10_000)


class Wall(Strategy):
    """Always proposes x = 1.0, where every trial fails."""

    def _propose(self):
        return self._suggest({"x": 1.0})


STRATEGIES = ["random", "twin", "grid", "wall"]
SEEDS = 8


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("suite")
    register("twin", Twin)
    register("wall", Wall)
    try:
        report = run_benchmark(
            STRATEGIES, SEEDS, 10, problems=PROBLEMS, out_dir=out, progress=False
        )
    finally:
        unregister("twin")
        unregister("wall")
    assert report == out / "report.md"
    return out


def problem_runs(out: Path, name: str) -> ProblemRuns:
    groups, _ = load_runs(out / name / "runs.db")
    return ProblemRuns(name, groups, objective_kind(groups))


def table_after(markdown: str, heading: str) -> list[list[str]]:
    """The rows of the first table after ``heading``."""
    part = markdown.split(heading, 1)[1]
    lines = next(line for line in part.split("\n\n") if line.startswith("| ")).splitlines()
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]


def table_with(markdown: str, header: str) -> list[list[str]]:
    """The rows of the first table whose header row holds ``header``."""
    for chunk in markdown.split("\n\n"):
        if chunk.startswith("| ") and header in chunk.splitlines()[0]:
            lines = chunk.splitlines()
            return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]
    raise AssertionError(f"no table with {header!r}")


def test_the_suite_report_links_each_problem_and_pools_by_objective_type(suite):
    md = (suite / "report.md").read_text()
    assert md.startswith("# Benchmark across 3 problems")
    for name in ("valley", "slope", "broken"):
        assert f"[{name}]({name}/report.md)" in md
        assert (suite / name / "report.md").is_file()  # each problem keeps its own report
    assert "## Synthetic functions (`function`): 3 problems" in md
    # every strategy ran every seed of every problem: 3 x 8 blocks
    assert "**24 blocks**" in md and "valley: 8 seed(s); slope: 8 seed(s); broken: 8" in md
    assert "broken (every random-search run failed)" in md  # no score scale, said so
    for png in ("score_curve_function", "critical_difference_function", "bootstrap_function"):
        assert (suite / f"{png}.png").read_bytes().startswith(PNG)
        assert f"{png}.png" in md
    html = (suite / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and 'src="score_curve' not in html
    assert "nan" not in md.lower().replace("nemenyi", "")


def test_failed_runs_rank_last_and_no_rank_is_nan(suite):
    md = (suite / "report.md").read_text()
    ranks = {row[0]: row[1:] for row in table_after(md, "### Mean rank over the budget")}
    assert set(ranks) == set(STRATEGIES)
    for row in ranks.values():
        assert all(re.fullmatch(r"\d\.\d\d", cell) for cell in row)
    # wall fails every trial: last of 4 on valley and slope, tied with all on broken (2.5)
    assert ranks["wall"][-1] == f"{(16 * 4 + 8 * 2.5) / 24:.2f}"
    stats = group_statistics("function", [problem_runs(suite, n) for n in ("valley", "slope")])
    assert np.isfinite(stats.ranks).all() and np.isfinite(stats.curve).all()
    wall = stats.strategies.index("wall")
    # 10 % of the budget is 1 epoch: no trial (2 epochs) has finished, every run ties (2.5);
    # from 50 % on, wall's runs are last on every seed
    assert stats.ranks[wall][0] == 2.5 and (stats.ranks[wall][2:] == 4).all()
    assert stats.friedman.p < 0.05 and not stats.friedman.reason


def test_a_clearly_better_strategy_excludes_zero_and_equal_ones_do_not(suite):
    problems = [problem_runs(suite, n) for n in ("valley", "slope", "broken")]
    stats = group_statistics("function", problems)
    intervals = {d.name: d.interval for d in stats.differences}
    # grid hits valley's optimum on every seed (score 0), random's median scores 1 there
    valley_grid = stats.scores["valley"][stats.strategies.index("grid")]
    assert valley_grid == 0.0
    assert intervals["wall"].low > 0  # fails everything: clearly worse
    assert intervals["twin"].low < 0 < intervals["twin"].high  # random in another stream
    only_valley = group_statistics("function", problems[:1])
    grid = {d.name: d.interval for d in only_valley.differences}["grid"]
    assert grid.high < 0 and grid.n == SEEDS
    md = (suite / "report.md").read_text()
    rows = {row[0]: row for row in table_after(md, "### Each strategy against random search")}
    assert rows["wall"][-1] == "worse" and rows["twin"][-1] == "cannot tell"


def test_the_per_problem_report_gives_bootstrap_intervals_and_detectable_effects(suite):
    md = (suite / "valley" / "report.md").read_text()
    stats = md.split("## Statistics: each strategy against random search")[1]
    rows = {row[0]: row for row in table_with(stats, "95 % bootstrap interval")}
    assert rows["grid"][4] == "yes" and rows["twin"][4] == "no"
    groups, _ = load_runs(suite / "valley" / "runs.db")
    effects = {e.name: e for e in paired_effects(groups, ["twin", "grid", "wall"])}
    random_finals = [groups["random"][s].final_val for s in range(SEEDS)]
    assert effects["grid"].interval.mean == pytest.approx(-np.mean(random_finals))
    assert rows["grid"][2] == f"{effects['grid'].interval.mean:+.4f}"
    assert effects["wall"].failed_pairs == SEEDS
    size = detectable_effect_size(SEEDS, 3)
    assert rows["grid"][-1] == f"{size * effects['grid'].sd:.4f}"
    assert "**The smallest effect this protocol can detect**" in stats
    assert f"{size:.2f} standard deviations" in stats


# --- a hand-made store: every number worked out by hand --------------------------------------


def write_run(
    store: Store,
    strategy: str,
    seed: int,
    trials: list[tuple[float, int]],
    kind: str = "function",
) -> None:
    """A finished run of a 10-epoch budget: one trial per ``(validation loss, epochs)``; a
    non-finite loss is a failed trial. ``kind``: the objective type its record holds."""
    record = store.open_study(
        study_name(strategy, seed, "hand"),
        strategy=strategy,
        seed=seed,
        space=SPACE.to_json(),
        budget=Budget(epochs=10).to_json(),
        objective={"type": kind, "max_epochs": 10},
    )
    for i, (loss, epochs) in enumerate(trials):
        suggestion = Suggestion(id=i, params={"x": 0.1 * i}, epochs=epochs, seed=seed)
        result = (
            Result(loss=loss, epochs_run=epochs, seconds=0.1)
            if math.isfinite(loss)
            else Result.failure("ValueError: failed", epochs_run=epochs)
        )
        store.record_start(record.id, suggestion, 2 * i, None)
        store.record_result(record.id, suggestion, result, tell_seq=2 * i + 1, study_seconds=1.0)
    store.finish_study(record.id, seconds=1.0, stop_reason="epochs")


@pytest.fixture
def hand(tmp_path) -> ProblemRuns:
    path = tmp_path / "runs.db"
    with Store(path) as store:
        write_run(store, "random", 0, [(0.4, 5)])
        write_run(store, "random", 1, [(0.9, 5), (0.6, 5)])  # 0.9: the worst trial
        write_run(store, "tpe", 0, [(0.2, 1)])  # the best loss, after 1 epoch
        write_run(store, "tpe", 1, [(0.3, 5)])
        write_run(store, "gp", 0, [(INF, 5)])  # failed
        write_run(store, "gp", 1, [(0.6, 5)])  # ties random
    groups, _ = load_runs(path)
    return ProblemRuns("hand", groups, objective_kind(groups))


def test_ranks_and_scores_match_a_hand_computed_case(hand):
    assert hand.kind == "function"
    order = ["random", "gp", "tpe"]
    ranks = mean_ranks([hand], order, (0.1, 1.0))
    # 10 %: seed 0 only tpe has a loss (1, 2.5, 2.5), seed 1 nobody (2, 2, 2)
    # 100 %: seed 0 tpe 0.2 < random 0.4 < gp failed; seed 1 tpe 0.3 < random = gp 0.6
    assert ranks.tolist() == [[2.25, 2.25], [2.25, 2.75], [1.5, 1.0]]
    scale, why = scale_of(hand.groups)
    assert scale == Scale(best=0.2, random_median=0.5, worst=0.9) and not why
    stats = group_statistics("function", [hand])
    scores = dict(zip(stats.strategies, stats.scores["hand"], strict=True))
    # random (0.4, 0.6) -> (2/3, 4/3); tpe (0.2, 0.3) -> (0, 1/3); gp (failed, 0.6) -> (7/3, 4/3)
    assert scores == pytest.approx({"random": 1.0, "tpe": 1 / 6, "gp": 11 / 6})
    differences = {d.name: d for d in score_differences([hand], stats.strategies)}
    assert differences["tpe"].differences == pytest.approx((-2 / 3, -1.0))
    assert differences["gp"].differences == pytest.approx((5 / 3, 0.0))
    assert differences["tpe"].interval.mean == pytest.approx(-5 / 6)
    # Friedman needs 2 blocks and 3 strategies: it runs on 2 blocks
    result = friedman([hand], order)
    assert result.mean_ranks == {"random": 2.25, "gp": 2.75, "tpe": 1.0}
    assert math.isfinite(result.p) and result.nemenyi.shape == (3, 3)


def test_statistics_survive_a_problem_whose_every_run_failed(tmp_path):
    path = tmp_path / "runs.db"
    with Store(path) as store:
        for strategy in ("random", "tpe", "gp"):
            for seed in (0, 1):
                write_run(store, strategy, seed, [(INF, 5), (INF, 5)])
    groups, _ = load_runs(path)
    failed = ProblemRuns("failed", groups, "function")
    stats = group_statistics("function", [failed])
    assert (stats.ranks == 2.0).all()  # every run ties for every place
    assert stats.scores == {} and stats.differences == []
    assert stats.unscaled == {"failed": "every random-search run failed"}
    assert stats.friedman.reason.startswith("every strategy tied in every block")
    report = write_suite_report([path], tmp_path / "out").read_text()
    assert "No Friedman test: every strategy tied" in report
    assert "No problem of this group can be scored" in report
    assert "nan" not in report.lower()
    md = write_report(path, tmp_path / "one").read_text()  # the problem's own report
    assert "nan" not in md.split("## Statistics")[1].lower()
    assert "With only 2 seed(s) a bootstrap interval is too narrow to trust" in md
    assert "too few seeds to tell" in md


def test_friedman_says_why_it_cannot_run(hand, tmp_path):
    two = friedman([hand], ["random", "tpe"])
    assert two.reason.startswith("Friedman's test needs at least 3 strategies; 2 ran")
    assert two.mean_ranks == {"random": 2.0, "tpe": 1.0}


def test_groups_are_by_objective_type(hand, tmp_path):
    keras_like = ProblemRuns("net", hand.groups, "keras")
    stats = [group_statistics(k, [p]) for k, p in (("function", hand), ("keras", keras_like))]
    assert [s.title for s in stats] == ["synthetic functions", "trained networks"]
    assert all(len(s.blocks) == 2 for s in stats)  # not pooled: 2 blocks each, not 4


def test_the_suite_report_has_a_section_per_objective_type(tmp_path):
    stores = []
    for kind, shift in (("keras", 0.0), ("function", 1.0), ("function", 2.0)):
        path = tmp_path / f"{kind}{shift:.0f}" / "runs.db"
        path.parent.mkdir()
        with Store(path) as store:
            for seed in range(3):
                write_run(store, "random", seed, [(shift + 0.5 + seed / 10, 5)], kind)
                write_run(store, "tpe", seed, [(shift + 0.3 + seed / 10, 5)], kind)
                if shift == 1.0:  # gp ran on one function problem only: left out
                    write_run(store, "gp", seed, [(9.0, 5)], kind)
        stores.append(path)
    md = write_suite_report(stores, tmp_path / "out").read_text()
    networks = md.split("## Trained networks (`keras`): 1 problem")[1].split("## Synthetic")[0]
    functions = md.split("## Synthetic functions (`function`): 2 problems")[1]
    assert "**3 blocks**" in networks and "**6 blocks**" in functions
    assert "No Friedman test: Friedman's test needs at least 3 strategies; 2 ran" in md
    assert "With fewer than 5 blocks a bootstrap interval is too narrow" in networks
    assert "too narrow" not in functions  # 6 blocks
    # tpe is lower on each of the 3 blocks, but 3 blocks are too few to call it better.
    assert "| tpe | 3 |" in networks and "too few blocks to tell |" in networks
    assert "| tpe | 6 |" in functions and "| better |" in functions
    assert "Left out (not run on every problem of the group): gp." in functions
    # tpe beats random on every block once its 5-epoch trial is in (50 % of the budget):
    # mean rank 1; before, both have no loss yet and tie (1.5). Scores: best 0.3 (+ shift),
    # random's median 0.6, so tpe's (0.3, 0.4, 0.5) score (0, 1/3, 2/3) and random's
    # (0.5, 0.6, 0.7) (2/3, 1, 4/3): every paired difference is -2/3.
    for section in (networks, functions):
        assert table_after(section, "### Mean rank")[0] == ["tpe", "1.50", "1.50", "1.00", "1.00"]
        assert table_after(section, "### Normalised score")[1][0] == "random"
    assert table_after(functions, "### Normalised score")[0] == ["tpe", "0.333", "0.333", "0.333"]
    assert table_after(functions, "### Normalised score")[1] == [
        "random",
        "1.000",
        "1.000",
        "1.000",
    ]
    # a single problem still gets its ranks and a bootstrap interval
    assert table_after(networks, "### Each strategy against random search")[0][:4] == [
        "tpe",
        "3",
        "-0.667",
        "[-0.667, -0.667]",
    ]
    # stores without a benchmark note are named by their folder; no report there, no link
    assert [row[0] for row in table_after(md, "## Problems")] == [
        "keras0",
        "function1",
        "function2",
    ]


def test_block_ranks_put_failures_last_and_share_ties():
    ranks = block_ranks(np.array([[0.3, INF, 0.3, float("nan")], [0.1, 0.2, 0.3, 0.4]]))
    assert ranks.tolist() == [[1.5, 3.5, 1.5, 3.5], [1.0, 2.0, 3.0, 4.0]]


def test_bootstrap_interval_is_seeded_and_honest():
    rng = np.random.default_rng(1)
    shifted = rng.normal(-1.0, 0.3, size=12)
    centred = rng.normal(0.0, 0.3, size=12)
    assert bootstrap_mean(shifted).high < 0
    ci = bootstrap_mean(centred)
    assert ci.low < 0 < ci.high and bootstrap_mean(centred) == ci
    assert math.isnan(bootstrap_mean([0.5]).low)
    # statsmodels' solve_power stops short with few pairs (10 SD for 2 pairs, 3 comparisons);
    # the bisection reaches 80 % power
    from statsmodels.stats.power import TTestPower

    def power(size, n, alpha):  # the two tails, each where scipy's nct gives a number
        upper = TTestPower().power(size, nobs=n, alpha=alpha / 2, alternative="larger")
        lower = TTestPower().power(size, nobs=n, alpha=alpha / 2, alternative="smaller")
        return upper + (0.0 if math.isnan(lower) else lower)

    for n, m in ((2, 3), (3, 3), (4, 7), (5, 20), (10, 1)):
        assert power(detectable_effect_size(n, m), n, 0.05 / m) == pytest.approx(0.8, abs=1e-4)

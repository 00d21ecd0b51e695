"""The report's conclusions hold: anytime figures of regret on a log axis (negative losses
too), wall-clock curves that end where their runs ended, runs that never left a strategy's
start-up phase called out, and differences within the noise called ties.

Stores are real: small ``tune`` runs of cheap functions, or runs written through the Store
API where a test needs exact losses and durations."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from tunebench import Budget, Float, FunctionObjective, Result, Space, Store, Suggestion, tune
from tunebench.bench import study_name
from tunebench.report import load_runs, verdict_lines, write_report
from tunebench.report.figures import anytime_bands, draw_anytime, draw_final, regret_scale
from tunebench.report.reference import problem_text
from tunebench.report.stats import strategy_order
from tunebench.strategy import get_strategy, strategy_class

SPACE = Space(x=Float(0.0, 1.0))


def shifted_bowl(x: float, epochs: int) -> float:
    """Negative everywhere, like Hartmann-6: lowest (-3.0) at x = 0.3; more epochs lower it
    a little."""
    return (x - 0.3) ** 2 - 3.0 + 0.01 / epochs


def bowl(x: float, epochs: int) -> float:
    return (x - 0.3) ** 2 + 0.25 + 0.01 / epochs


def tuned_store(path: Path, function, runs: dict[str, dict], seeds=(0, 1), trials=12) -> Path:
    """One ``tune`` run of ``function`` per strategy and seed (``runs``: strategy ->
    options), each of ``trials`` one-epoch trials."""
    for strategy, options in runs.items():
        for seed in seeds:
            tune(
                FunctionObjective(function, max_epochs=1),
                SPACE,
                strategy=strategy,
                strategy_options=options,
                budget=Budget(epochs=trials),
                seed=seed,
                storage=path,
            )
    return path


def write_run(
    store: Store, strategy: str, seed: int, losses: list[float], seconds: float = 0.6
) -> None:
    """A finished run written through the Store API: one 1-epoch trial a loss, each taking
    ``seconds`` of the run's wall time."""
    record = store.open_study(
        study_name(strategy, seed),
        strategy=strategy,
        seed=seed,
        space=SPACE.to_json(),
        budget=Budget(epochs=len(losses)).to_json(),
        objective={"max_epochs": 1, "task": {"name": "hand-made"}},
    )
    for i, loss in enumerate(losses):
        suggestion = Suggestion(id=i, params={"x": 0.1 * (i % 10)}, epochs=1, seed=seed)
        result = Result(loss=loss, epochs_run=1, seconds=seconds, test_loss=loss + 0.01)
        store.record_start(record.id, suggestion, 2 * i, None)
        store.record_result(
            record.id, suggestion, result, tell_seq=2 * i + 1, study_seconds=seconds * (i + 1)
        )
    store.finish_study(record.id, seconds=seconds * len(losses), stop_reason="epochs")


def hand_made(path: Path, runs: dict[tuple[str, int], list[float]], **kw) -> Path:
    with Store(path) as store:
        for (strategy, seed), losses in runs.items():
            write_run(store, strategy, seed, losses, **kw)
    return path


def figure_of(path: Path, axis: str):
    groups, notes = load_runs(path)
    order = strategy_order(groups)
    return groups, draw_anytime(groups, order, axis, problem_text(notes))


def plotted(fig) -> list[np.ndarray]:
    """The y values of every line drawn in the figure's visible panels."""
    return [
        np.asarray(line.get_ydata(), dtype=float)
        for ax in fig.axes
        if ax.get_visible()
        for line in ax.get_lines()
    ]


# ------------------------------------------------------------------------ anytime figures


def test_anytime_figures_plot_regret_on_a_log_axis_one_panel_per_strategy(tmp_path):
    path = tuned_store(tmp_path / "runs.db", bowl, {"random": {}, "tpe": {"n_startup_jobs": 3}})
    groups, fig = figure_of(path, "epochs")
    scale = regret_scale(groups)
    runs = [r for seeds in groups.values() for r in seeds.values()]
    assert scale.best == min(r.final_val for r in runs)
    assert 0 < scale.floor < 0.01
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["tpe (2 seeds)"]  # random: in every panel
    assert all(ax.get_yscale() == "log" for ax in panels)
    assert fig.get_supxlabel() == "epochs trained (budget spent)"
    assert fig.get_supylabel() == "validation MSE − best found (log)"
    low, high = panels[0].get_ylim()
    assert low < scale.floor and high <= 1e4 * scale.floor
    # The best run's regret is 0: drawn at the floor, where each run's end tick sits.
    bands = anytime_bands(groups, strategy_order(groups), "epochs", scale)
    ends = [regret for band in bands.values() for _, regret in band.ends]
    assert min(ends) == pytest.approx(scale.floor)
    assert sorted(ends) == pytest.approx(
        sorted(r.final_val - scale.best + scale.floor for r in runs)
    )
    lines = np.concatenate([y[np.isfinite(y)] for y in plotted(fig)])
    assert lines.min() >= scale.floor * (1 - 1e-9)
    _, seconds = figure_of(path, "seconds")
    assert seconds.get_supxlabel() == "wall-clock seconds"


def test_negative_losses_draw_without_a_warning(tmp_path):
    """A problem like Hartmann-6 has losses below 0: a log axis of the loss broke on them."""
    path = tuned_store(tmp_path / "runs.db", shifted_bowl, {"random": {}, "evolution": {}})
    groups, notes = load_runs(path)
    assert max(r.final_val for seeds in groups.values() for r in seeds.values()) < 0
    with warnings.catch_warnings():
        # matplotlib warns of a non-positive limit on a log axis; numpy of empty medians.
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("error", RuntimeWarning)
        write_report(path, tmp_path / "out")
        for axis in ("epochs", "seconds"):
            _, fig = figure_of(path, axis)
            lines = np.concatenate([y[np.isfinite(y)] for y in plotted(fig)])
            assert len(lines) and lines.min() > 0
    # Every figure keeps its size (a reference label far off the axis once stretched the
    # final figure to thousands of pixels, and took a minute to encode).
    for png in ("anytime_epochs.png", "anytime_seconds.png", "final_mse.png"):
        header = (tmp_path / "out" / png).read_bytes()[16:24]
        width, height = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")
        assert width < 1500 and height < 1500, (png, width, height)
    # The final figure: a linear axis showing every incumbent as it is.
    order = strategy_order(groups)
    ax = draw_final(groups, order, problem_text(notes)).axes[0]
    assert ax.get_yscale() == "linear"
    low, high = ax.get_ylim()
    finals = [r.final_val for seeds in groups.values() for r in seeds.values()]
    assert low < min(finals) and max(finals) < high


def test_wall_clock_curves_end_where_their_runs_ended(tmp_path):
    """Issue: a run's curve was extended flat to the longest run's end."""
    path = hand_made(
        tmp_path / "runs.db",
        {
            ("random", 0): [0.5, 0.4, 0.3],  # ends at 1.8 s
            ("random", 1): [0.6, 0.5, 0.45, 0.4, 0.35],  # 3.0 s
            ("random", 2): [0.7] * 9 + [0.2],  # 6.0 s
        },
    )
    groups, _ = load_runs(path)
    scale = regret_scale(groups)
    band = anytime_bands(groups, ["random"], "seconds", scale)["random"]
    assert band.x[-1] == pytest.approx(6.0)
    drawn = band.x[np.isfinite(band.median)]
    # More than half of the 3 runs must be running: the curve stops at the second end.
    assert drawn.max() <= 3.0 and drawn.max() > 3.0 - 6.0 / 399
    # Between the first and the second end, the median is over the two runs still running.
    t = np.searchsorted(band.x, 2.5)
    running = [groups["random"][k].best_at(band.x[t], "seconds") for k in (1, 2)]
    assert band.median[t] == pytest.approx(np.median(running) - scale.best + scale.floor)
    assert sorted(x for x, _ in band.ends) == pytest.approx([1.8, 3.0, 6.0])


# ------------------------------------------------------------------------ start-up phases


@pytest.mark.parametrize(
    ("name", "option", "value"),
    [
        ("tpe", "n_startup_jobs", 6),
        ("gp", "n_initial_points", 6),
        ("optuna-tpe", "n_startup_trials", 6),
        ("cmaes", "n_startup_trials", 6),
        ("evolution", "population_size", 6),
    ],
)
def test_each_model_based_strategy_names_its_start_up(name, option, value):
    cls = strategy_class(name)
    assert cls.startup_option == option
    assert get_strategy(name, SPACE, seed=0, **{option: value}).startup_trials == value
    default = get_strategy(name, SPACE, seed=0).startup_trials
    assert default > 0 and cls.startup_trials_for({}) == default
    assert cls.startup_trials_for({option: value}) == value


def test_strategies_without_a_start_up_phase():
    assert get_strategy("random", SPACE, seed=0).startup_trials == 0
    assert get_strategy("grid", SPACE, seed=0).startup_trials == 0
    # Hyperband draws every bracket's configurations at random: no phase to leave.
    assert strategy_class("hyperband").startup_trials_for({"max_epochs": 9}) == 0


def test_runs_that_never_left_the_start_up_are_called_out(tmp_path):
    """Issue: tpe 'won' with runs of fewer trials than its 10 random start-up suggestions."""
    path = tuned_store(
        tmp_path / "runs.db",
        bowl,
        {"random": {}, "tpe": {}, "gp": {"n_initial_points": 3}},
        trials=6,
    )
    report = write_report(path, tmp_path / "out")
    md = report.read_text()
    top = md.split("## Verdict")[0]
    expected = (
        "tpe: 2 of 2 runs finished ≤ 10 trials, its start-up of random suggestions; its "
        "results are random search's"
    )
    assert "**⚠ Start-up only** — " + expected in top
    assert "gp:" not in top  # 6 trials, past its 3 random points
    assert "(`n_startup_jobs`)" in top
    lines = verdict_lines(path, report)
    assert f"  START-UP ONLY: {expected}" in lines[:3]
    # With 2 seeds no difference is significant: tpe is tied at the top, with the caveat.
    verdict = md.split("## Verdict")[1].split("## ")[0]
    assert "tied at the top" in verdict and f"**Caveat — {expected}**" in verdict
    assert "caveat: start-up only" in lines[0]


def test_a_start_up_only_leader_is_never_crowned_without_the_caveat(tmp_path):
    runs = {("random", k): [0.40 + k / 100] * 11 for k in range(7)}
    runs |= {("tpe", k): [0.30 + k / 100] * 3 for k in range(7)}  # 3 trials: start-up only
    path = hand_made(tmp_path / "runs.db", runs)
    report = write_report(path, tmp_path / "out")
    verdict = report.read_text().split("## Verdict")[1].split("## ")[0]
    assert verdict.lstrip().startswith("**tpe** found the lowest median validation MSE")
    caveat = "**Caveat — tpe: 7 of 7 runs finished ≤ 10 trials"
    assert caveat in verdict
    lines = verdict_lines(path, report)
    assert lines[0].startswith("verdict: tpe has the lowest") and "caveat" in lines[0]


# ------------------------------------------------------------------------ ties


def test_a_difference_within_the_noise_is_a_tie(tmp_path):
    """Issue: the verdict called 0.27136 against 0.27144 a win."""
    runs = {
        ("tpe", 0): [0.27136] * 12,
        ("tpe", 1): [0.27136] * 12,
        ("random", 0): [0.27144] * 12,
        ("random", 1): [0.27144] * 12,
    }
    path = hand_made(tmp_path / "runs.db", runs)
    report = write_report(path, tmp_path / "out")
    verdict = report.read_text().split("## Verdict")[1].split("## ")[0]
    assert "**tpe and random are tied at the top**" in verdict
    assert "**tpe** found" not in verdict
    assert "a difference is called a tie unless a paired Wilcoxon signed-rank test" in verdict
    assert "Holm-corrected" in verdict and "significant at 5 %" in verdict
    lines = verdict_lines(path, report)
    assert lines[0].startswith("verdict: tpe and random are tied at the top")
    assert lines[1] == "  lowest median: tpe, 0.2714 over 2 seeds (test 0.2814)"
    assert not any("has the lowest median" in line for line in lines)


def test_the_group_tied_with_the_leader_and_those_behind_it(tmp_path):
    """7 paired seeds, 2 comparisons with the leader: a consistent gap passes Holm's test."""
    runs = {}
    for k in range(7):
        runs["tpe", k] = [0.30 + k / 100] * 12
        runs["gp", k] = [0.30 + k / 100 + (0.002 if k % 2 else -0.001)] * 12  # within noise
        runs["random", k] = [0.35 + k / 100] * 12  # behind on every seed
    path = hand_made(tmp_path / "runs.db", runs)
    report = write_report(path, tmp_path / "out")
    verdict = report.read_text().split("## Verdict")[1].split("## ")[0]
    assert "**tpe and gp are tied at the top**" in verdict
    assert "Significantly behind tpe: random (Holm-adjusted p = 0.0312)" in verdict
    assert "tpe's difference from random search is significant" in verdict
    lines = verdict_lines(path, report)
    assert lines[0].startswith("verdict: tpe and gp are tied at the top")


def test_one_winner_only_beyond_the_noise(tmp_path):
    runs = {}
    for k in range(7):
        runs["tpe", k] = [0.30 + k / 100] * 12
        runs["gp", k] = [0.33 + k / 100] * 12
        runs["random", k] = [0.35 + k / 100] * 12
    path = hand_made(tmp_path / "runs.db", runs)
    report = write_report(path, tmp_path / "out")
    verdict = report.read_text().split("## Verdict")[1].split("## ")[0]
    assert verdict.lstrip().startswith(
        "**tpe** found the lowest median validation MSE, 0.3300 (its incumbents' median test "
        "MSE 0.3400), over 7 seeds, and is ahead of every other strategy beyond the noise"
    )
    assert "The runner-up, gp, reached 0.3600" in verdict
    lines = verdict_lines(path, report)
    assert "beyond the noise" in lines[0]
    assert lines[1].startswith("  runner-up: gp, 0.3600 (margin -0.0300, -8.3 %): Holm-adjusted")
    assert math.isclose(float(lines[1].rsplit("= ", 1)[1]), 0.0312, abs_tol=1e-4)


def test_the_only_strategy_with_a_successful_run_is_not_said_to_be_ahead_beyond_noise(tmp_path):
    path = hand_made(tmp_path / "runs.db", {("tpe", 0): [0.3] * 12, ("random", 0): [math.inf] * 12})
    report = write_report(path, tmp_path / "out")
    verdict = report.read_text().split("## Verdict")[1].split("## ")[0]
    assert "the only strategy with a successful run" in verdict
    assert "beyond the noise" not in verdict and "tied" not in verdict
    assert "Random search has no successful run to compare with." in verdict
    assert "difference from random search" not in verdict
    lines = verdict_lines(path, report)
    assert lines[0].endswith("the only strategy with a successful run")


def test_the_verdict_against_random_search_is_the_statistics_sections_test(tmp_path):
    # tpe leads; against random it is lower on 8 of 10 seeds (exact Wilcoxon p = 0.0371),
    # gp on all 10 (p = 0.00195). Holm over the tests against random search (the statistics
    # section's family) keeps tpe's p at 0.0371: significant. Holm over the comparisons with
    # the leader (tpe vs gp, p near 1; tpe vs random) would double it to 0.0742: the verdict
    # must say what the statistics table says.
    ranks = range(1, 11)
    tpe = [1.0 + 0.01 * k if k in (3, 4) else 1.0 - 0.01 * k for k in ranks]
    gp = [0.946 + 0.001 * k for k in ranks]
    runs = {}
    for seed in range(10):
        runs["random", seed] = [1.0]
        runs["tpe", seed] = [tpe[seed]]
        runs["gp", seed] = [gp[seed]]
    path = hand_made(tmp_path / "runs.db", runs)
    lines = "\n".join(verdict_lines(path))
    assert "tpe vs random search" in lines
    assert "lower on 8 of 10 seeds; is significant" in lines and "p = 0.0371" in lines
    md = write_report(path, tmp_path / "out").read_text()
    assert "| tpe | 10 | 8 / 0 / 2 |" in md and "| 0.0371 | 0.0371 | yes |" in md

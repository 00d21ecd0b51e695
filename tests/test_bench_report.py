"""The benchmark runner and its report, on a small real store: 3 strategies x 2 seeds x 15 epochs
on 300 rows of the book task (about 20 s on 2 cores), and a hand-made store with an overrun."""

from __future__ import annotations

import base64
import csv
import math
import re
import shutil
import sqlite3
import statistics
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tunebench import Budget, Result, Store, Suggestion, load_study
from tunebench.bench import record_execution, run_benchmark, study_name
from tunebench.cli import main
from tunebench.models import book_space
from tunebench.report import format_params, holm, median_iqr, verdict_lines, write_report

STRATEGIES = ["random", "tpe", "hyperband"]
SEEDS = [0, 1]
BUDGET = 15
SMALL = {"subsample": 300, "max_epochs": 5, "progress": False}
SECTIONS = [
    "## Verdict",
    "## Protocol",
    "## Anytime performance",
    "## Average rank over the budget",
    "## Final results",
    "## Best configurations",
    "## Statistics: each strategy against random search",
    "## Time to the book's result",
    "## Budget audit",
]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("bench")
    options = {**SMALL, "progress": True}  # the live display, and its thread watching the store
    report = run_benchmark(
        STRATEGIES, SEEDS, BUDGET, storage=out / "runs.db", out_dir=out, **options
    )
    assert report == out / "report.md"
    return out, out / "runs.db"


def stored(storage: Path) -> dict:
    with Store(storage) as store:
        return {name: store.load_study(name) for name in store.study_names()}


def snapshot(storage: Path) -> dict:
    """What a rerun must not touch: every trial's timestamps, every study's seconds."""
    return {
        name: (
            study.seconds,
            study.stop_reason,
            [(t.id, t.started, t.finished) for t in study.trials],
        )
        for name, study in stored(storage).items()
    }


def table_after(markdown: str, heading: str) -> list[list[str]]:
    """The cells of the first table after ``heading`` (header and separator dropped)."""
    section = markdown.split(heading, 1)[1]
    block = next(b for b in section.split("\n\n") if b.startswith("|"))
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in block.splitlines()[2:]]


def test_every_pair_runs_into_one_store_within_its_budget(bench):
    _, storage = bench
    studies = stored(storage)
    assert set(studies) == {study_name(s, k) for s in STRATEGIES for k in SEEDS}
    for study in studies.values():
        assert study.epochs_spent == BUDGET and study.stop_reason == "epochs"
        assert study.objective["task"]["sizes"]["train"] == 300
    assert any(t.initial_epoch > 0 for t in studies["hyperband-seed0"].trials)


def test_report_has_every_section_and_caption(bench):
    out, _ = bench
    md = (out / "report.md").read_text()
    positions = [md.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    # The 4th figure: hyperband's learning curves (its rungs stop trials early).
    assert md.count("*Figure ") == 4 and md.count("*Table ") == 8  # 8th: bootstrap intervals
    assert "significance cannot be claimed" in md
    assert "external reference, not run here" in md and "0.303" in md
    card = dict(row[:2] for row in table_after(md, "## Protocol"))
    assert card["budget a run"] == "15 epochs"
    assert card["seeds"].startswith("0, 1 ")
    assert "keras-tuner" in card["packages"] and "scikit-optimize" in card["packages"]
    assert card["Python"] and "cores" in card["machine"]
    for name in ("anytime_epochs.png", "anytime_seconds.png", "final_mse.png"):
        assert (out / name).read_bytes().startswith(PNG)
    assert (out / "learning_curves.png").read_bytes().startswith(PNG)


def test_report_numbers_match_the_store(bench):
    out, storage = bench
    md = (out / "report.md").read_text()
    final = {row[0]: row for row in table_after(md, "## Final results")}
    for name in STRATEGIES:
        studies = [load_study(storage, study_name(name, k)) for k in SEEDS]
        val = statistics.median(s.best_loss for s in studies)
        test = statistics.median(s.best_trial.test_loss for s in studies)
        assert final[name][2].startswith(f"{val:.4f} [")
        assert final[name][3].startswith(f"{test:.4f} [")
    audit = {(row[0], int(row[1])): row for row in table_after(md, "## Budget audit")}
    total = 0
    for (name, seed), row in audit.items():
        study = load_study(storage, study_name(name, seed))
        promoted = sum(t.epochs_run for t in study.trials if t.initial_epoch > 0)
        assert row[2:6] == [str(BUDGET), str(study.epochs_spent), "0", str(len(study.trials))]
        assert row[8:] == [str(promoted), "ok"]
        total += int(row[3])
    assert total == sum(s.epochs_spent for s in stored(storage).values()) == 6 * BUDGET
    n_trials = sum(len(s.trials) for s in stored(storage).values())
    assert f"{n_trials} trials in all" in md


VOID_TAGS = frozenset({"meta", "img", "br", "hr", "link", "input"})


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"


def test_html_is_one_self_contained_file(bench):
    out, _ = bench
    page = (out / "report.html").read_text()
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.stack == []
    assert len(checker.images) == 4
    for src in checker.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
    assert "http://" not in page and "https://" not in page
    assert "<h2>Budget audit</h2>" in page and "<figcaption>" in page


def test_trials_csv_holds_every_trial(bench):
    out, storage = bench
    with (out / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    studies = stored(storage)
    assert len(rows) == sum(len(s.trials) for s in studies.values())
    assert {(r["strategy"], int(r["seed"])) for r in rows} == {
        (s, k) for s in STRATEGIES for k in SEEDS
    }
    assert {"loss", "test_loss", "epochs_run", "initial_epoch", "param_n_neurons"} <= set(rows[0])


def test_rerun_redoes_nothing_finished_and_resumes_the_rest(bench, tmp_path, capsys):
    _, storage = bench
    copy = tmp_path / "runs.db"
    shutil.copy(storage, copy)
    whole = load_study(copy, "tpe-seed1")
    kept, cut, lost = whole.trials[:-2], whole.trials[-2], whole.trials[-1]
    # As a kill during tpe-seed1's second-to-last trial leaves the store: that trial still
    # `running`, the last one never asked, the run not finished.
    with sqlite3.connect(copy) as db:
        (study_id,) = db.execute("SELECT id FROM studies WHERE name = 'tpe-seed1'").fetchone()
        db.execute("DELETE FROM trials WHERE study_id = ? AND trial_id = ?", (study_id, lost.id))
        db.execute(
            "UPDATE trials SET status = 'running', tell_seq = NULL, loss = NULL, "
            "test_loss = NULL, epochs_run = 0, finished = NULL "
            "WHERE study_id = ? AND trial_id = ?",
            (study_id, cut.id),
        )
        db.execute("UPDATE studies SET stop_reason = NULL WHERE id = ?", (study_id,))
    before = snapshot(copy)
    flags = ["--strategies", ",".join(STRATEGIES), "--seeds", "2", "--budget-epochs", "15"]
    flags += ["--subsample", "300", "--max-epochs", "5", "--no-progress"]
    assert main(["bench", *flags, "--storage", str(copy), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    assert "5 runs already finished in the store, 1 to do" in printed.err
    after = snapshot(copy)
    resumed = load_study(copy, "tpe-seed1")
    assert resumed.stop_reason == "epochs" and resumed.epochs_spent == BUDGET
    assert all(t.status != "running" for t in resumed.trials)
    # The trials finished before the kill are kept as they were, not redone ...
    assert after["tpe-seed1"][2][: len(kept)] == before["tpe-seed1"][2][: len(kept)]
    # ... the cut one is redone with the same parameters (the replayed strategy proposed it
    # again) and the search goes on from there, as the uninterrupted run did.
    redone = resumed.trials[len(kept)]
    assert redone.id == cut.id and redone.params == cut.params
    assert redone.started > max(t.finished for t in kept)
    assert [t.params for t in resumed.trials] == [t.params for t in whole.trials]
    after.pop("tpe-seed1"), before.pop("tpe-seed1")
    assert after == before  # the finished runs were not touched at all
    assert (tmp_path / "report.html").is_file()
    # The verdict, in a few lines at the end (what `make bench` shows).
    lines = printed.out.strip().splitlines()
    assert lines[0].startswith("verdict: ") and "median validation MSE" in lines[0]
    assert any(line.startswith("  best configuration: ") for line in lines)
    assert lines[-1] == f"  report: {tmp_path / 'report.md'} and report.html beside it"


def meta(storage: Path) -> dict:
    with sqlite3.connect(storage) as db:
        return dict(db.execute("SELECT key, value FROM meta"))


def test_a_rerun_with_nothing_to_do_rewrites_nothing(bench, tmp_path):
    """Issue: a no-op rerun with another executor rewrote the protocol card's executor."""
    _, storage = bench
    copy = tmp_path / "runs.db"
    shutil.copy(storage, copy)
    before, notes = snapshot(copy), meta(copy)
    flags = ["--strategies", ",".join(STRATEGIES), "--seeds", "2", "--budget-epochs", "15"]
    flags += ["--subsample", "300", "--max-epochs", "5", "--no-progress"]
    flags += ["--executor", "processes", "--workers", "2"]
    assert main(["bench", *flags, "--storage", str(copy), "--out", str(tmp_path)]) == 0
    assert snapshot(copy) == before and meta(copy) == notes
    card = dict(row[:2] for row in table_after((tmp_path / "report.md").read_text(), "## Protocol"))
    assert card["executor"] == "inline (6 runs)"


def test_a_store_of_another_protocol_is_refused(bench):
    out, storage = bench
    with pytest.raises(ValueError, match=r"budget_epochs: stored 15, asked 20"):
        run_benchmark(STRATEGIES, SEEDS, 20, storage=storage, out_dir=out, **SMALL)


def write_run(
    store: Store,
    strategy: str,
    seed: int,
    trials: list[tuple[float, float, int]],
    budget: int = 10,
) -> None:
    """A finished run written through the Store API: one trial per ``(validation loss, test
    loss, epochs)``; a non-finite validation loss is a failed trial."""
    record = store.open_study(
        study_name(strategy, seed),
        strategy=strategy,
        seed=seed,
        space=book_space().to_json(),
        budget=Budget(epochs=budget).to_json(),
        objective={"max_epochs": 100, "task": {"name": "hand-made"}},
    )
    for i, (loss, test, epochs) in enumerate(trials):
        params = {"n_hidden": i % 4, "n_neurons": 30 + i, "learning_rate": 0.00123456 * (i + 1)}
        suggestion = Suggestion(id=i, params=params, epochs=epochs, seed=seed)
        result = (
            Result(loss=loss, epochs_run=epochs, seconds=0.5, test_loss=test)
            if math.isfinite(loss)
            else Result.failure("ValueError: the builder raised", epochs_run=epochs)
        )
        store.record_start(record.id, suggestion, 2 * i, None)
        store.record_result(
            record.id, suggestion, result, tell_seq=2 * i + 1, study_seconds=0.6 * (i + 1)
        )
    store.finish_study(record.id, seconds=0.6 * len(trials), stop_reason="epochs")


def _hand_made_store(path: Path) -> None:
    """Two runs of a 10-epoch budget; random-seed0 charged 12 epochs."""
    with Store(path) as store:
        write_run(store, "random", 0, [(0.4, 0.45, 12)])
        write_run(store, "random", 1, [(0.5, 0.45, 9)])


def test_a_budget_overrun_is_flagged_by_the_audit(tmp_path, capsys):
    _hand_made_store(tmp_path / "over.db")
    assert main(["report", str(tmp_path / "over.db"), "-o", str(tmp_path / "out")]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "BUDGET OVERRUN" in md.split("## Verdict")[0]  # at the top, before anything else
    audit = {int(row[1]): row for row in table_after(md, "## Budget audit")}
    assert audit[0][3:5] == ["12", "-2"] and "OVER BUDGET by 2 epochs" in audit[0][-1]
    assert audit[1][-1] == "ok"
    assert "verdict is unsafe" in md


def test_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["bench", "--full", "--budget-epochs", "10"]) == 2
    assert "drop --budget-epochs or drop --full" in capsys.readouterr().err
    assert main(["bench", "--strategies", "random,hyperbnd", "--out", str(tmp_path)]) == 2
    assert "unknown strategy 'hyperbnd'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.db")]) == 2
    assert capsys.readouterr().err.startswith("tunebench: error: no store at")
    with pytest.raises(ValueError, match="seeds must not repeat"):
        run_benchmark(["random"], [0, 0], 10, storage=tmp_path / "x.db", out_dir=tmp_path)


def test_write_report_refuses_an_empty_store(tmp_path):
    Store(tmp_path / "empty.db").close()
    with pytest.raises(ValueError, match="holds no studies"):
        write_report(tmp_path / "empty.db", tmp_path)


INF = math.inf


def _report_of(tmp_path: Path, runs: dict[tuple[str, int], list]) -> tuple[str, list[str]]:
    path = tmp_path / "runs.db"
    with Store(path) as store:
        for (strategy, seed), trials in runs.items():
            write_run(store, strategy, seed, trials)
    report = write_report(path, tmp_path / "out")
    return report.read_text(), verdict_lines(path, report)


def test_failed_runs_are_shown_failed_and_rank_last(tmp_path):
    """Issue: a run whose every trial failed made median_iqr print a 300-digit quartile."""
    runs = {}
    for seed in range(4):
        # tpe: the lowest validation MSE, but the highest test MSE; its seed 1 failed.
        runs["tpe", seed] = [(INF, None, 1), (INF, None, 1)] if seed == 1 else [(0.3, 0.5, 2)]
        runs["random", seed] = [(0.4 + seed / 100, 0.35, 2)]
        runs["gp", seed] = [(INF, None, 1)]  # every run failed
    md, lines = _report_of(tmp_path, runs)
    assert not re.search(r"\d{15,}", md), "a number no one can read"
    final = {row[0]: row for row in table_after(md, "## Final results")}
    assert list(final)[:3] == ["tpe", "random", "gp"]  # by validation MSE, failed last
    assert final["tpe"][2] == "0.3000 [0.3000–0.3000]; 1 of 4 runs failed"
    assert final["tpe"][3] == "0.5000 [0.5000–0.5000]; 1 of 4 runs failed"
    assert final["gp"][2:4] == ["failed (4 of 4 runs)", "failed (4 of 4 runs)"]
    assert final["gp"][-1] == "4"  # failed trials
    ranks = {row[0]: row for row in table_after(md, "## Average rank over the budget")}
    assert ranks["gp"][-1] == "2.88"  # last on 3 seeds (3), shares the last two on seed 1
    assert ranks["tpe"][-1] == "1.38"  # first on 3 seeds, ties gp for the last on seed 1
    best = {(row[0], row[1]): row for row in table_after(md, "## Best configurations")}
    assert best["tpe", "1"][2:] == ["failed", "—", "—", "—", "—", "—"]
    stats = {row[0]: row for row in table_after(md, "## Statistics")}
    # gp loses every pair; tpe wins three and loses the failed one.
    assert stats["gp"][2] == "0 / 0 / 4" and stats["tpe"][2] == "3 / 0 / 1"
    assert stats["tpe"][3] == "-0.1200"  # over the pairs where neither failed
    # 4 seeds cannot make a difference significant; gp, every run failed, is not at the top.
    verdict = md.split("## Verdict")[1].split("\n\n")[1]
    assert verdict.startswith("**tpe and random are tied at the top**")
    assert "tpe has the lowest, 0.3000" in verdict
    assert lines[1] == "  lowest median: tpe, 0.3000 over 4 seeds, 1 of 4 runs failed (test 0.5000)"
    assert "(1 pair(s) with a failed run, which loses its pair)" in md


def test_the_order_and_the_winner_never_use_the_test_split(tmp_path):
    md, lines = _report_of(
        tmp_path,
        {
            ("random", 0): [(0.40, 0.30, 2)],
            ("tpe", 0): [(0.30, 0.40, 2)],
            ("gp", 0): [(0.35, 0.20, 2)],
        },
    )
    for heading in ("## Final results", "## Best configurations", "## Time to the book's"):
        assert [row[0] for row in table_after(md, heading)][:3] == ["tpe", "gp", "random"]
    assert lines[0].startswith("verdict: tpe, gp and random are tied at the top")
    assert lines[1] == "  lowest median: tpe, 0.3000 over 1 seed (test 0.4000)"
    assert "On the test split, which no strategy selected on, gp has the lowest" in md


def test_a_single_strategy_benchmark(tmp_path):
    """Issue: with random alone, the verdict said 'a difference of +0.0000' and 'Random search
    is not in this store'."""
    md, lines = _report_of(tmp_path, {("random", k): [(0.3 + k / 100, 0.31, 3)] for k in (0, 1)})
    assert "+0.0000" not in md and "not in this store" not in md
    assert "Random search is the only strategy in this benchmark" in md
    assert "Only one strategy, random, is in this benchmark" in md
    assert lines[0] == (
        "verdict: random, the only strategy benchmarked: median validation MSE 0.3050 over "
        "2 seeds (test 0.3100); nothing to compare it with"
    )
    assert not any("runner-up" in line or "vs random" in line for line in lines)


def test_a_benchmark_without_random_search_says_so(tmp_path):
    runs = {("tpe", k): [(0.30 + k / 100, 0.31, 3)] for k in range(3)}
    runs |= {("gp", k): [(0.32 + k / 100, 0.33, 3)] for k in range(3)}
    md, lines = _report_of(tmp_path, runs)
    assert "There is no random-search baseline in this benchmark (its strategies: tpe, gp)" in md
    assert "**tpe and gp are tied at the top**" in md
    assert "tpe has the lowest, 0.3100 (its incumbents' median test MSE 0.3100)" in md
    assert "then gp 0.3300 (+0.0200, +6.5 %)" in md
    assert lines[0].startswith("verdict: tpe and gp are tied at the top")
    assert "  no random-search baseline in this benchmark" in lines


def test_best_configurations_match_the_store(bench):
    out, storage = bench
    md = (out / "report.md").read_text()
    rows = table_after(md, "## Best configurations")
    header = md.split("## Best configurations")[1].split("\n| ")[1]
    assert header.startswith("strategy | seed | validation MSE | test MSE | `n_hidden` |")
    assert len(rows) == len(STRATEGIES) * len(SEEDS)
    studies = stored(storage)
    for row in rows:
        study = studies[study_name(row[0], int(row[1]))]
        best = study.best_trial
        params = study.best_params
        assert row[2:4] == [f"{best.loss:.4f}", f"{best.test_loss:.4f}"]
        assert row[4:6] == [str(params["n_hidden"]), str(params["n_neurons"])]
        assert row[6] == f"{params['learning_rate']:.4g}" and row[7] == str(best.id)
    overall = min(studies.values(), key=lambda s: s.best_loss)
    assert f"`{format_params(overall.best_params)}`, found by {overall.strategy}" in md


def test_the_card_shows_the_executor_each_run_used(tmp_path):
    path = tmp_path / "runs.db"
    with Store(path) as store:
        for seed in range(4):
            write_run(store, "random", seed, [(0.3, 0.3, 2)])
        record_execution(store, "random-seed0", "inline", 1, engine="auto")
        record_execution(store, "random-seed1", "inline", 1, engine="auto")
        # interrupted, resumed in parallel
        record_execution(store, "random-seed2", "inline", 1, engine="auto")
        record_execution(store, "random-seed2", "processes", 2, engine="auto")
        # resumed with TensorFlow's epoch: float-level differences, shown
        record_execution(store, "random-seed3", "inline", 1, engine="auto")
        record_execution(store, "random-seed3", "inline", 1, engine="tensorflow")
    md = write_report(path, tmp_path).read_text()
    card = dict(row[:2] for row in table_after(md, "## Protocol"))
    assert card["executor"] == (
        "inline (2 runs); inline, then inline, fast path: tensorflow (1 run); "
        "inline, then processes ×2 (1 run)"
    )


def test_holm_against_a_worked_example():
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm") -> 0.05 0.08 0.09 0.09 0.09
    assert holm([0.03, 0.01, 0.05, 0.02, 0.04]) == [0.09, 0.05, 0.09, 0.08, 0.09]
    # A comparison that could not be tested stays untested and does not enlarge the family.
    adjusted = holm([0.03, math.nan, 0.01, 0.05, 0.02, 0.04])
    assert math.isnan(adjusted[1])
    assert adjusted[:1] + adjusted[2:] == [0.09, 0.05, 0.09, 0.08, 0.09]
    assert holm([]) == [] and all(math.isnan(p) for p in holm([math.nan, math.nan]))


def test_median_iqr_leaves_failed_runs_out():
    assert median_iqr([0.5, math.inf, 0.25, 1.0]) == (0.5, 0.375, 0.75)
    assert median_iqr([0.5, math.nan]) == (0.5, 0.5, 0.5)
    assert all(math.isnan(v) for v in median_iqr([math.inf, math.inf]))


def test_a_run_another_process_holds_leaves_no_execution_note(tmp_path):
    from tunebench import StudyBusyError
    from tunebench.report.runs import EXECUTIONS_META

    storage = tmp_path / "runs.db"
    with Store(storage) as holder:  # a second terminal runs this study
        holder.acquire_lease(study_name("random", 0))
        with pytest.raises(StudyBusyError):
            run_benchmark(
                "random", [0], 2, storage=storage, out_dir=tmp_path, subsample=100, progress=False
            )
        assert study_name("random", 0) not in holder.get_meta(EXECUTIONS_META, {})


def test_hyperband_curves_go_on_from_their_parent_and_take_their_lineages_fate(bench):
    from tunebench.report import load_runs
    from tunebench.report.curves import curve_panels

    _, storage = bench
    groups, _ = load_runs(storage)
    (panel,) = curve_panels(groups, STRATEGIES)  # random and tpe never stop a trial early
    assert panel.strategy == "hyperband" and panel.seed == 0
    trials = {t.id: t for t in groups["hyperband"][0].study.trials}
    lines = {line.trial: line for line in panel.lines}
    continued = [t for t in trials.values() if t.resume_from is not None]
    assert continued
    for child in continued:
        line, parent = lines[child.id], trials[child.resume_from]
        assert line.epochs[0] == child.initial_epoch == parent.epochs
        assert line.losses[0] == pytest.approx(parent.curve[-1], nan_ok=True)
        assert lines[parent.id].continued and lines[parent.id].fate == line.fate
    for line in panel.lines:
        trial = trials[line.trial]
        if trial.status == "ok" and not line.continued and trial.epochs < 5:  # a rung's end
            assert line.fate == "stopped" or trial.epochs_run < trial.epochs - trial.initial_epoch
        elif trial.status == "ok" and not line.continued:
            assert line.fate == "complete"
    assert {line.fate for line in panel.lines} >= {"stopped", "complete"}

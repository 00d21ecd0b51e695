"""The benchmark runner and its report, on a small real store: 3 strategies x 2 seeds x 15 epochs
on 300 rows of the book task (about 20 s on 2 cores), and a hand-made store with an overrun."""

from __future__ import annotations

import base64
import csv
import shutil
import sqlite3
import statistics
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tunebench import Budget, Result, Store, Suggestion, load_study
from tunebench.bench import run_benchmark, study_name
from tunebench.cli import main
from tunebench.models import book_space
from tunebench.report import write_report

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
    assert md.count("*Figure ") == 3 and md.count("*Table ") == 6
    assert "significance cannot be claimed" in md
    assert "external reference, not run here" in md and "0.303" in md
    card = dict(row[:2] for row in table_after(md, "## Protocol"))
    assert card["budget a run"] == "15 epochs"
    assert card["seeds"].startswith("0, 1 ")
    assert "keras-tuner" in card["packages"] and "scikit-optimize" in card["packages"]
    assert card["Python"] and "cores" in card["machine"]
    for name in ("anytime_epochs.png", "anytime_seconds.png", "final_mse.png"):
        assert (out / name).read_bytes().startswith(PNG)


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
    assert len(checker.images) == 3
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
    before = snapshot(copy)
    with sqlite3.connect(copy) as db:  # as if killed right after its last trial was stored
        db.execute("UPDATE studies SET stop_reason = NULL WHERE name = 'tpe-seed1'")
    flags = ["--strategies", ",".join(STRATEGIES), "--seeds", "2", "--budget-epochs", "15"]
    flags += ["--subsample", "300", "--max-epochs", "5", "--no-progress"]
    assert main(["bench", *flags, "--storage", str(copy), "--out", str(tmp_path)]) == 0
    assert "5 runs already finished in the store, 1 to do" in capsys.readouterr().err
    after = snapshot(copy)
    resumed = after.pop("tpe-seed1")
    assert resumed[1:] == before.pop("tpe-seed1")[1:]  # same trials, finished again
    assert after == before  # the finished runs were not touched at all
    assert (tmp_path / "report.html").is_file()


def test_a_store_of_another_protocol_is_refused(bench):
    out, storage = bench
    with pytest.raises(ValueError, match=r"budget_epochs: stored 15, asked 20"):
        run_benchmark(STRATEGIES, SEEDS, 20, storage=storage, out_dir=out, **SMALL)


def _hand_made_store(path: Path) -> None:
    """Two runs of a 10-epoch budget; random-seed0 charged 12 epochs."""
    params = {"n_hidden": 1, "n_neurons": 30, "learning_rate": 0.003}
    with Store(path) as store:
        for name, seed, epochs in (("random", 0, 12), ("random", 1, 9)):
            record = store.open_study(
                study_name(name, seed),
                strategy=name,
                seed=seed,
                space=book_space().to_json(),
                budget=Budget(epochs=10).to_json(),
                objective={"max_epochs": 100, "task": {"name": "hand-made"}},
            )
            suggestion = Suggestion(id=0, params=params, epochs=epochs, seed=seed)
            result = Result(loss=0.4 + seed / 10, epochs_run=epochs, seconds=0.5, test_loss=0.45)
            store.record_start(record.id, suggestion, 0, None)
            store.record_result(record.id, suggestion, result, tell_seq=1, study_seconds=0.6)
            store.finish_study(record.id, seconds=0.6, stop_reason="epochs")


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

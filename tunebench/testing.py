"""The conformance suite every strategy must pass, built-in or third-party.

A third-party strategy registered through the ``tunebench.strategies`` entry point (or with
``register``) gets the same checks as the built-ins with one call in its own tests::

    from tunebench.testing import check_strategy
    check_strategy("my-strategy")

Each check is also available alone (``CHECKS[name](strategy_name)``); each raises
``AssertionError`` with a message naming the strategy and the broken rule.

>>> check_strategy("random")
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .budget import Budget
from .executors import InlineExecutor, evaluate_safely
from .objective import FunctionObjective
from .runner import tune
from .space import Choice, Float, Int, Space
from .strategy import Result, Strategy, Suggestion, get_strategy, strategy_class
from .warm_start import StudyNotice

__all__ = ["CHECKS", "CONDITIONAL_SPACE", "MIXED_SPACE", "SPHERE_SPACE", "check_strategy"]

#: A space with every kind of parameter: log float, int, log int, categorical, bool.
MIXED_SPACE = Space(
    lr=Float(1e-4, 1e-1, log=True),
    dropout=Float(0.0, 0.5),
    units=Int(1, 99),
    width=Int(1, 256, log=True),
    layers=Int(0, 3),
    act=Choice(["relu", "tanh", "selu"]),
    flag=Choice([True, False]),
)

#: The book's space with a neuron count per hidden layer (each active up to ``n_hidden``; the
#: third's in steps of 8),
#: an optimizer whose Nesterov flag is active for SGD only and whose momentum only with
#: Nesterov (nested conditions), and a dropout for the third layer with Adam only (a
#: condition on two unrelated parameters).
CONDITIONAL_SPACE = Space(
    n_hidden=Int(0, 3),
    n_neurons_1=Int(1, 99, when={"n_hidden": [1, 2, 3]}),
    n_neurons_2=Int(1, 99, when={"n_hidden": [2, 3]}),
    n_neurons_3=Int(8, 96, step=8, when={"n_hidden": [3]}),
    optimizer=Choice(["sgd", "adam"]),
    nesterov=Choice([False, True], when={"optimizer": ["sgd"]}),
    momentum=Float(0.0, 0.9, when={"nesterov": [True]}),
    dropout_3=Float(0.0, 0.5, when={"n_hidden": [3], "optimizer": ["adam"]}),
    learning_rate=Float(3e-4, 3e-2, log=True),
)

#: The 4-dimensional sphere of the learning check: minimum 0 at x_i = 0.3.
SPHERE_SPACE = Space({f"x{i}": Float(0.0, 1.0) for i in range(4)})


def sphere(**params: float) -> float:
    return float(sum((v - 0.3) ** 2 for v in params.values()))


def _mixed_loss(params: dict) -> float:
    """A deterministic loss over MIXED_SPACE, so that tells depend only on the params."""
    return (
        (math.log10(params["lr"]) + 2.5) ** 2
        + params["dropout"]
        + abs(params["units"] - 40) / 40
        + abs(math.log2(params["width"]) - 5) / 5
        + abs(params["layers"] - 2)
        + (params["act"] != "tanh") * 0.5
        + params["flag"] * 0.25
    )


def _drive(
    strategy: Strategy, n: int, loss: Callable[[dict], float] = _mixed_loss
) -> list[Suggestion]:
    """Sequential ask / tell, the way the inline runner drives a strategy."""
    asked: list[Suggestion] = []
    for _ in range(n):
        suggestion = strategy.ask()
        if suggestion is None:
            break
        asked.append(suggestion)
        strategy.tell(suggestion, Result(loss=loss(suggestion.params)))
    return asked


def _expected_type(param: object) -> tuple[type, ...]:
    if isinstance(param, Float):
        return (float,)
    if isinstance(param, Int):
        return (int,)
    return tuple({type(o) for o in param.options})  # type: ignore[attr-defined]


def check_values(name: str) -> None:
    """Every value lies inside the space and is a plain Python value of the right type."""
    strategy = get_strategy(name, MIXED_SPACE, seed=0)
    asked = _drive(strategy, 30)
    assert asked, f"strategy {name!r}: ask() gave no suggestion on a fresh strategy"
    for suggestion in asked:
        assert isinstance(suggestion, Suggestion), (
            f"strategy {name!r}: ask() returned {type(suggestion).__name__}, not a Suggestion"
        )
        assert set(suggestion.params) == set(MIXED_SPACE), (
            f"strategy {name!r}: params {sorted(suggestion.params)} are not the space's names"
        )
        for key, param in MIXED_SPACE.items():
            value = suggestion.params[key]
            assert type(value) in _expected_type(param), (
                f"strategy {name!r}: {key}={value!r} is a {type(value).__name__}, "
                f"expected {_expected_type(param)[0].__name__} (plain Python, not numpy)"
            )
            assert param.contains(value), (
                f"strategy {name!r}: {key}={value!r} lies outside {param!r}"
            )
    ids = [s.id for s in asked]
    assert len(set(ids)) == len(ids), f"strategy {name!r}: suggestion ids repeat: {ids}"


def check_determinism(name: str) -> None:
    """Same seed and same results → same suggestions; another seed → other suggestions."""
    runs = [
        [s.params for s in _drive(get_strategy(name, MIXED_SPACE, seed=seed), 25)]
        for seed in (7, 7, 8)
    ]
    assert runs[0] == runs[1], (
        f"strategy {name!r}: two runs with seed 7 and the same results proposed different "
        "trials; draw every random number from the seed (self.rng), never from global state"
    )
    assert runs[0] != runs[2], f"strategy {name!r}: seeds 7 and 8 proposed the same trials"


def check_failures(name: str) -> None:
    """Failed trials, NaN losses and exceptions in the objective are survived."""

    def flaky(lr: float, units: int, epochs: int, report: Callable, **rest: object) -> float:
        if units % 3 == 0:
            raise RuntimeError(f"units={units} is not allowed")
        if units % 3 == 1:
            return math.nan
        return _reporting({"lr": lr, "units": units, **rest}, epochs, report)

    objective = FunctionObjective(flaky, max_epochs=3)
    study = tune(objective, MIXED_SPACE, name, Budget(trials=30), seed=0, progress=False)
    statuses = [t.status for t in study.trials]
    assert len(statuses) >= 20, (
        f"strategy {name!r}: stopped after {len(statuses)} trials "
        f"({study.stop_reason}) when failures and NaNs came back"
    )
    assert {"failed", "diverged"} & set(statuses), "the flaky objective produced no failure"
    strategy = get_strategy(name, MIXED_SPACE, seed=1)
    for told in range(15):  # told directly, failures must not stop later asks
        suggestion = strategy.ask()
        assert suggestion is not None or strategy.done, (
            f"strategy {name!r}: ask() gave nothing after {told} failed trials, with none "
            "pending; a failure must still be learnt from (as a bad result) and searched past"
        )
        if suggestion is None:
            break
        strategy.tell(suggestion, Result.failure("RuntimeError: boom"))
    assert strategy.ask() is not None or strategy.done, (
        f"strategy {name!r}: ask() gave nothing after 15 failed trials, with none pending"
    )


def check_budget(name: str) -> None:
    """The epoch budget is never exceeded, also when suggestions ask for more than is left."""

    def trained(
        epochs: int, initial_epoch: int, lr: float, report: Callable, **rest: object
    ) -> float:
        return _reporting({"lr": lr, **rest}, epochs, report, initial_epoch)

    for budget in (7, 50, 130):
        study = tune(
            FunctionObjective(trained, max_epochs=27),
            MIXED_SPACE,
            name,
            Budget(epochs=budget),
            seed=0,
            progress=False,
        )
        assert study.epochs_spent <= budget, (
            f"strategy {name!r}: spent {study.epochs_spent} epochs of a {budget}-epoch budget"
        )
        for trial in study.trials:
            granted = trial.epochs - trial.initial_epoch
            ran_all = trial.epochs_run == granted or trial.status == "pruned"
            assert ran_all and trial.epochs_run <= granted <= 27, (
                f"strategy {name!r}: trial {trial.id} ran {trial.epochs_run} epochs "
                f"from {trial.initial_epoch} to {trial.epochs}"
            )


def _reporting(params: dict, epochs: int, report: Callable, initial_epoch: int = 0) -> float:
    """Train ``epochs`` epochs of a fidelity function over MIXED_SPACE, reporting each one."""
    loss = math.inf
    for epoch in range(initial_epoch + 1, epochs + 1):
        loss = _mixed_loss(params) / math.sqrt(epoch)
        report(epoch, loss)
    return loss


def check_pending_asks(name: str) -> None:
    """Several asks before any tell (parallel workers) work, and results may come back in
    any order."""
    strategy = get_strategy(name, MIXED_SPACE, seed=0)
    _drive(strategy, 12)  # past any start-up phase
    pending = [s for s in (strategy.ask() for _ in range(4)) if s is not None]
    assert pending, f"strategy {name!r}: no suggestion while none is pending"
    ids = [s.id for s in pending]
    assert len(set(ids)) == len(ids), f"strategy {name!r}: pending suggestions share ids {ids}"
    for suggestion in reversed(pending):
        strategy.tell(suggestion, Result(loss=_mixed_loss(suggestion.params)))
    assert strategy.ask() is not None or strategy.done, (
        f"strategy {name!r}: no suggestion after every pending result came back"
    )


def check_resume(name: str) -> None:
    """A study interrupted mid-trial (Ctrl-C) and rerun equals one that was never stopped;
    a parallel run stopped with trials running survives resume, stop, resume."""
    _check_resume_equals_uninterrupted(name, "none", stop_at=5)
    _check_parallel_resume(name)


def _check_resume_equals_uninterrupted(
    name: str, pruner: str, stop_at: int, epochs: int = 250
) -> None:
    """Interrupted at the ``stop_at``-th call (Ctrl-C) and resumed, the study equals the one
    never stopped: the same trials, the same stops by ``pruner``, the same charges."""
    import tempfile
    from pathlib import Path

    calls = {"n": 0, "stop_at": stop_at}

    def trained(
        epochs: int, initial_epoch: int, lr: float, report: Callable, **rest: object
    ) -> float:
        calls["n"] += 1
        if calls["n"] == calls["stop_at"]:
            raise KeyboardInterrupt
        return _reporting({"lr": lr, **rest}, epochs, report, initial_epoch)

    def run(storage: Path | None) -> list[tuple]:
        study = _resume_study(name, trained, storage, pruner=pruner, epochs=epochs)
        return [
            (t.id, t.params, t.epochs, t.initial_epoch, t.loss, t.status, t.epochs_run)
            for t in study.trials
        ]

    with tempfile.TemporaryDirectory() as folder:
        storage = Path(folder) / "resume.db"
        try:
            run(storage)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError(f"the interrupting objective was not called {stop_at} times")
        resumed = run(storage)
    calls.update(n=0, stop_at=-1)
    uninterrupted = run(None)
    if resumed != uninterrupted:
        pairs = enumerate(zip(resumed, uninterrupted, strict=False))
        first = next((i for i, (a, b) in pairs if a != b), min(len(resumed), len(uninterrupted)))
        under = "" if pruner == "none" else f" under pruner={pruner!r}"
        raise AssertionError(
            f"strategy {name!r}: the resumed study{under} differs from an uninterrupted one "
            f"from trial {first} on ({len(resumed)} against {len(uninterrupted)} trials)"
        )


#: The pruner the pruning check runs a strategy that does not prune by itself under: ASHA
#: with rungs at 3 and 9 epochs (fewer, longer trials than its defaults: the check stays
#: quick for strategies whose suggestions cost more as trials accumulate, as gp's).
CHECK_PRUNER = ("asha", {"min_resource": 3, "reduction_factor": 3})


def _resume_study(
    name: str,
    trained: Callable[..., float],
    storage: Any,
    pruner: str = "none",
    epochs: int = 250,
    **executor: Any,
) -> Any:
    """The study the resume checks run: ``trained`` over the mixed space, 250 epochs, seed 3
    (under ``pruner``, with ``CHECK_PRUNER``'s options)."""
    return tune(
        FunctionObjective(trained, max_epochs=27),
        MIXED_SPACE,
        name,
        Budget(epochs=epochs),
        seed=3,
        storage=storage,
        progress=False,
        pruner=pruner,
        pruner_options=CHECK_PRUNER[1] if pruner == CHECK_PRUNER[0] else None,
        **executor,
    )


def _check_pruner(name: str) -> str | None:
    """The ``pruner=`` the pruning check runs ``name`` with: none for a strategy that prunes
    by itself, ``asha`` for the others; None for one that schedules training lengths itself
    (``hyperband``: it refuses a pruner)."""
    cls = strategy_class(name)
    if cls.pruner is not None:
        return "none"
    return None if cls.multi_fidelity else CHECK_PRUNER[0]


def check_pruning(name: str) -> None:
    """Under a pruner (its own, or ``asha``), a pruned trial is ``pruned``, keeps its curve,
    and every epoch trained is charged exactly once; an interrupted study resumed in the
    middle of a rung equals the uninterrupted one."""
    pruner = _check_pruner(name)
    if pruner is None:
        return
    trained_epochs = {"n": 0}

    def trained(
        epochs: int, initial_epoch: int, lr: float, report: Callable, **rest: object
    ) -> float:
        def counted(epoch: int, loss: float) -> None:
            trained_epochs["n"] += 1
            report(epoch, loss)

        return _reporting({"lr": lr, **rest}, epochs, counted, initial_epoch)

    study = tune(
        FunctionObjective(trained, max_epochs=27),
        MIXED_SPACE,
        name,
        Budget(epochs=150),
        seed=0,
        progress=False,
        pruner=pruner,
        pruner_options=CHECK_PRUNER[1] if pruner == CHECK_PRUNER[0] else None,
    )
    pruned = [t for t in study.trials if t.status == "pruned"]
    assert pruned, f"strategy {name!r}: no trial was pruned under pruner={pruner!r}"
    assert study.epochs_spent == trained_epochs["n"] <= 150, (
        f"strategy {name!r}: {trained_epochs['n']} epochs were trained and "
        f"{study.epochs_spent} charged (budget 150)"
    )
    for trial in study.finished_trials:
        if trial.status in ("ok", "pruned"):
            assert trial.epochs_run == len(trial.curve), (
                f"strategy {name!r}: trial {trial.id} ({trial.status}) was charged "
                f"{trial.epochs_run} epochs for a curve of {len(trial.curve)}"
            )
    for trial in pruned:
        assert math.isfinite(trial.loss), (
            f"strategy {name!r}: pruned trial {trial.id} has no loss (its best report)"
        )
    _check_resume_equals_uninterrupted(name, pruner, stop_at=6, epochs=150)


class _OutOfOrderExecutor(InlineExecutor):
    """Runs trials in this process two at a time, finishing the newest first (so the oldest
    stays running, as a slow trial does on a parallel pool), and raises ``KeyboardInterrupt``
    on its ``crash_at``-th wait: a parallel run stopped with trials still running."""

    capacity = 2

    def __init__(self, crash_at: int | None) -> None:
        super().__init__()
        self.crash_at, self.waits = crash_at, 0

    def wait(self) -> list[tuple[Suggestion, Result]]:
        self.waits += 1
        if self.waits == self.crash_at:
            raise KeyboardInterrupt
        trial = self.submitted.pop()
        return [(trial[1], evaluate_safely(*trial))]


def _check_parallel_resume(name: str) -> None:
    """A parallel run stopped with trials running, resumed, stopped again and resumed again
    ends as a whole study: every trial once, finished trials kept, the budget kept."""
    import tempfile
    from pathlib import Path

    from .store import load_study

    def trained(
        epochs: int, initial_epoch: int, lr: float, report: Callable, **rest: object
    ) -> float:
        return _reporting({"lr": lr, **rest}, epochs, report, initial_epoch)

    def run(storage: Path, crash_at: int | None) -> None:
        _resume_study(name, trained, storage, executor=_OutOfOrderExecutor(crash_at))

    with tempfile.TemporaryDirectory() as folder:
        storage = Path(folder) / "resume.db"
        kept: dict[int, tuple] = {}
        for session, crash_at in enumerate((4, 4, None), start=1):
            try:
                run(storage, crash_at)
            except KeyboardInterrupt:
                pass
            except Exception as exc:
                raise AssertionError(
                    f"strategy {name!r}: resume {session - 1} after a parallel run was stopped "
                    f"with trials running raised {type(exc).__name__}: {exc}"
                ) from exc
            study = load_study(storage)
            for trial in study.finished_trials:
                row = (trial.params, trial.epochs, trial.initial_epoch, trial.loss)
                assert kept.setdefault(trial.id, row) == row, (
                    f"strategy {name!r}: resume {session - 1} changed finished trial {trial.id}"
                )
            if crash_at is not None:
                assert any(not t.is_finished for t in study.trials), (
                    f"strategy {name!r}: the stopped parallel run left no trial running"
                )
        ids = [t.id for t in study.trials]
        assert ids == list(range(len(ids))) and all(t.is_finished for t in study.trials), (
            f"strategy {name!r}: after two resumes the store holds trials {ids} with statuses "
            f"{[t.status for t in study.trials]}"
        )
        assert study.epochs_spent <= 250 and study.stop_reason in ("epochs", "strategy_done"), (
            f"strategy {name!r}: the resumed parallel run spent {study.epochs_spent} of 250 "
            f"epochs and stopped by {study.stop_reason}"
        )


def sphere_second_half(name: str, seeds: Iterable[int] = range(6), n: int = 40) -> float:
    """Mean loss of the last half of ``n`` sequential suggestions on the sphere, over seeds."""
    means = []
    for seed in seeds:
        asked = _drive(get_strategy(name, SPHERE_SPACE, seed=seed), n, lambda p: sphere(**p))
        means.append(np.mean([sphere(**s.params) for s in asked[n // 2 :]]))
    return float(np.mean(means))


def check_learns(name: str) -> None:
    """A strategy that learns from results does: on the 4-d sphere its second half of 40
    suggestions averages below half of random search's (6 seeds, exact: no flakiness)."""
    cls = strategy_class(name)
    if not cls.learns or cls.multi_fidelity:
        return  # random and grid do not learn; multi-fidelity ones are judged by the benchmark
    random_loss = sphere_second_half("random")
    loss = sphere_second_half(name)
    assert loss < random_loss / 2, (
        f"strategy {name!r}: second-half sphere loss {loss:.3f} is not below half of "
        f"random search's {random_loss:.3f}; does tell() reach the model?"
    )


def _warm_pairs(n: int = 40) -> list[tuple[Suggestion, Result]]:
    """``n`` random points of the sphere with their losses, as a warm start tells them."""
    asked = _drive(get_strategy("random", SPHERE_SPACE, seed=99), n, lambda p: sphere(**p))
    return [
        (Suggestion(id=-1 - i, params=s.params), Result(loss=sphere(**s.params)))
        for i, s in enumerate(asked)
    ]


def check_warm_start(name: str) -> None:
    """Another study's trials, told before the first ask (``tune(warm_start=...)``), steer a
    strategy that learns from trials it did not propose: its first 10 suggestions on the 4-d
    sphere average below half of a cold start's (4 seeds); a warm-started study interrupted
    and rerun equals one never stopped. A strategy that cannot learn from them
    (``learns_from_given = False``) refuses a warm start with a ``ValueError``."""
    import tempfile
    from pathlib import Path

    from .study import Study, Trial

    pairs = _warm_pairs()
    source = Study(
        name="source",
        strategy="random",
        seed=99,
        trials=[
            Trial(id=i, params=s.params, status="ok", loss=r.loss, epochs_run=1)
            for i, (s, r) in enumerate(pairs)
        ],
    )
    cls = strategy_class(name)
    if not cls.learns_from_given:
        try:
            tune(sphere, SPHERE_SPACE, name, Budget(trials=3), warm_start=source, progress=False)
        except ValueError as exc:
            assert name in str(exc), f"strategy {name!r}: the refusal does not name it: {exc}"
            return
        raise AssertionError(
            f"strategy {name!r} has learns_from_given = False but accepted a warm start"
        )
    if cls.learns:
        warm, cold = [], []
        for seed in range(4):
            strategy = get_strategy(name, SPHERE_SPACE, seed=seed)
            for suggestion, result in pairs:
                strategy.tell(suggestion, result)
            warm += [sphere(**s.params) for s in _drive(strategy, 10, lambda p: sphere(**p))]
            asked = _drive(get_strategy(name, SPHERE_SPACE, seed=seed), 10, lambda p: sphere(**p))
            cold += [sphere(**s.params) for s in asked]
        assert np.mean(warm) < np.mean(cold) / 2, (
            f"strategy {name!r}: after 40 told trials its first 10 suggestions average "
            f"{np.mean(warm):.3f}, not below half of a cold start's {np.mean(cold):.3f}; does "
            "tell() take in trials the strategy did not propose?"
        )

    calls = {"n": 0, "stop_at": 5}

    def interrupted(report: Callable, **params: float) -> float:
        calls["n"] += 1
        if calls["n"] == calls["stop_at"]:
            raise KeyboardInterrupt
        loss = sphere(**params)
        report(1, loss)  # one epoch's report, for a strategy that prunes (asha, bohb)
        return loss

    def run(storage: Path | None) -> list[tuple]:
        study = tune(
            FunctionObjective(interrupted, max_epochs=1),  # bohb needs the most epochs
            SPHERE_SPACE,
            name,
            Budget(trials=12),
            seed=3,
            storage=storage,
            progress=False,
            warm_start=source,
        )
        return [(t.id, t.params, t.loss) for t in study.trials]

    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore", StudyNotice)  # random and grid: "changes nothing"
        storage = Path(folder) / "warm.db"
        try:
            run(storage)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("the interrupting objective was not called 5 times")
        resumed = run(storage)
        calls.update(n=0, stop_at=-1)
        uninterrupted = run(None)
    assert resumed == uninterrupted, (
        f"strategy {name!r}: a warm-started study, interrupted and rerun, differs from one "
        "never stopped"
    )


def _conditional_names(params: dict) -> set[str]:
    """The parameters of ``CONDITIONAL_SPACE`` active at ``params``, worked out by hand."""
    names = {"n_hidden", "optimizer", "learning_rate"}
    names |= {f"n_neurons_{i}" for i in range(1, params["n_hidden"] + 1)}
    if params["optimizer"] == "sgd":
        names |= {"nesterov", "momentum"} if params["nesterov"] else {"nesterov"}
    elif params["n_hidden"] == 3:
        names.add("dropout_3")
    return names


def _conditional_loss(epochs: int, **params: Any) -> float:
    """A loss over ``CONDITIONAL_SPACE`` that refuses an inactive parameter."""
    given, active = set(params), _conditional_names(params)
    if given != active:
        raise AssertionError(f"the objective got {sorted(given)}, active are {sorted(active)}")
    units = [params[f"n_neurons_{i}"] for i in range(1, params["n_hidden"] + 1)]
    loss = (math.log10(params["learning_rate"]) + 2) ** 2 + abs(params["n_hidden"] - 2)
    loss += sum(abs(u - 30) / 30 for u in units) + params.get("momentum", 0.5)
    loss += params.get("dropout_3", 0.0)
    return loss / math.sqrt(epochs)


def check_conditional(name: str) -> None:
    """On a conditional space (neurons per hidden layer, up to ``n_hidden``) the objective
    gets exactly the active parameters, both sides of a condition are tried, the store shows
    inactive parameters as empty, and an interrupted study resumes as if never stopped."""
    import tempfile
    from pathlib import Path

    calls = {"n": 0, "stop_at": -1}

    def trained(epochs: int, report: Callable, **params: Any) -> float:
        calls["n"] += 1
        if calls["n"] == calls["stop_at"]:
            raise KeyboardInterrupt
        for epoch in range(1, epochs + 1):  # for a strategy that prunes (asha, bohb)
            report(epoch, _conditional_loss(epoch, **params))
        return _conditional_loss(epochs, **params)

    def run(storage: Path | None) -> Any:
        return tune(
            FunctionObjective(trained, max_epochs=9),
            CONDITIONAL_SPACE,
            name,
            Budget(epochs=300),
            seed=5,
            storage=storage,
            progress=False,
        )

    study = run(None)
    trials = study.trials
    assert len(trials) >= 20, f"strategy {name!r}: only {len(trials)} trials on 300 epochs"
    for trial in trials:  # pruned: stopped by the strategy's own pruner (asha, bohb)
        assert trial.status in ("ok", "pruned"), (
            f"strategy {name!r}: trial {trial.id} {trial.params} {trial.status}: {trial.error}"
        )
        for key, value in trial.params.items():
            assert CONDITIONAL_SPACE[key].contains(value), (
                f"strategy {name!r}: {key}={value!r} lies outside {CONDITIONAL_SPACE[key]!r}"
            )
    for conditional in ("n_neurons_3", "momentum"):
        states = {conditional in t.params for t in trials}
        assert states == {True, False}, (
            f"strategy {name!r}: {conditional} was {'always' if True in states else 'never'} "
            "active; both sides of a condition must be searched"
        )
    frame = study.to_dataframe()
    shallow = frame["param_n_hidden"] < 3
    assert frame.loc[shallow, "param_n_neurons_3"].isna().all(), (
        f"strategy {name!r}: to_dataframe() shows a value for n_neurons_3 where it is inactive"
    )
    first = [(t.id, t.params, t.epochs, t.loss) for t in trials]
    with tempfile.TemporaryDirectory() as folder:
        storage = Path(folder) / "conditional.db"
        calls.update(n=0, stop_at=6)
        try:
            run(storage)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("the interrupting objective was not called 6 times")
        calls.update(n=0, stop_at=-1)
        resumed = [(t.id, t.params, t.epochs, t.loss) for t in run(storage).trials]
    assert resumed == first, (
        f"strategy {name!r}: on the conditional space, the resumed study differs from an "
        "uninterrupted one"
    )


CHECKS: dict[str, Callable[[str], None]] = {
    "values": check_values,
    "determinism": check_determinism,
    "failures": check_failures,
    "budget": check_budget,
    "pending_asks": check_pending_asks,
    "resume": check_resume,
    "pruning": check_pruning,
    "learns": check_learns,
    "warm_start": check_warm_start,
    "conditional": check_conditional,
}


def check_strategy(name: str, checks: Iterable[str] | None = None) -> None:
    """Run the conformance checks (all by default) on the strategy registered as ``name``.

    An exception raised by the strategy is reported as an ``AssertionError`` naming the check.
    """
    for check in CHECKS if checks is None else checks:
        try:
            CHECKS[check](name)
        except AssertionError:
            raise
        except Exception as exc:
            raise AssertionError(
                f"strategy {name!r}: the {check!r} check raised {type(exc).__name__}: {exc}"
            ) from exc

"""What a study starts from besides its strategy's own suggestions: known configurations
evaluated first (``tune(enqueue=...)``) and another study's trials told to the strategy
before it asks (``tune(warm_start=...)``).

Both are part of what a study was made with: they are kept in the store with it (as JSON,
under the study's name in the ``meta`` table), a resumed study replays them, and a rerun that
gives other ones is refused (``StudyMismatchError``); a rerun that gives none reuses them.

>>> from tunebench import Float, Int, Space
>>> space = Space(x=Float(0, 1), n=Int(1, 3))
>>> check_enqueue(space, [{"x": 0.5, "n": 2}])
[{'x': 0.5, 'n': 2}]
>>> check_enqueue(space, [{"x": 1.5, "n": 2}])
Traceback (most recent call last):
...
ValueError: enqueue[0]: parameter 'x': 1.5 is not inside Float(low=0.0, high=1.0, log=False); change the value or widen the space
"""  # noqa: E501

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .space import Space
from .strategy import Result, Suggestion
from .study import Study

__all__ = ["StudyNotice", "WarmStart", "check_enqueue", "warm_start_from"]


class StudyNotice(UserWarning):
    """A one-line notice about a study: extended to a larger budget, warm-started with
    trials skipped, warm-started with a strategy that does not learn."""


def check_enqueue(space: Space, enqueue: Iterable[Mapping[str, Any]] | None) -> list[dict]:
    """``enqueue`` as a list of points of ``space`` with plain values, or an error naming the
    entry and the bad value. Every entry must set every parameter of the space."""
    if enqueue is None:
        return []
    if isinstance(enqueue, (Mapping, str)) or not isinstance(enqueue, Iterable):
        raise TypeError(
            f"enqueue takes a list of configurations (dicts of parameter values), got "
            f"{enqueue!r}; write enqueue=[{{...}}, ...]"
        )
    points = []
    for index, entry in enumerate(enqueue):
        if not isinstance(entry, Mapping):
            raise TypeError(f"enqueue[{index}] must be a dict of parameter values, got {entry!r}")
        extra = [name for name in entry if name not in space]
        if extra:
            close = difflib.get_close_matches(str(extra[0]), list(space), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"enqueue[{index}] names {extra[0]!r}{hint}, which is not a parameter of the "
                f"space; its parameters: {', '.join(space)}"
            )
        missing = [name for name in space if name not in entry]
        if missing:
            raise ValueError(
                f"enqueue[{index}] lacks {', '.join(map(repr, missing))}: give a value for "
                "every parameter of the space"
            )
        try:
            points.append(space.validate(entry))
        except ValueError as exc:
            raise ValueError(
                f"enqueue[{index}]: {exc}; change the value or widen the space"
            ) from None
    return points


@dataclass(frozen=True)
class WarmStart:
    """The trials of another study, as the strategy is told them before it asks.

    ``told`` pairs each trial's ``Suggestion`` (negative ids, so that they never meet the
    strategy's own) with its ``Result``; ``skipped`` counts the trials outside the new space,
    ``reason`` says why the first of them was.
    """

    source: str
    told: tuple[tuple[Suggestion, Result], ...]
    skipped: int = 0
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "trials": [
                {
                    "params": s.params,
                    "loss": r.loss if math.isfinite(r.loss) else None,
                    "status": r.status,
                }
                for s, r in self.told
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WarmStart:
        return cls(
            source=data["source"],
            told=tuple(
                _pair(i, t["params"], math.inf if t["loss"] is None else t["loss"], t["status"])
                for i, t in enumerate(data["trials"])
            ),
        )

    def notice(self, strategy: str, learns: bool) -> str | None:
        """The one line ``tune`` shows when something is off, or None."""
        told = f"told {strategy} {len(self.told)} trials of {self.source}"
        if self.skipped:
            return (
                f"warm start: {told}; skipped {self.skipped} outside the space "
                f"(the first: {self.reason})"
            )
        if not learns:
            return (
                f"warm start: {told}; {strategy} does not learn from results: they change nothing"
            )
        return None


def _pair(index: int, params: dict, loss: float, status: str) -> tuple[Suggestion, Result]:
    return Suggestion(id=-1 - index, params=params), Result(loss=loss, status=status)


def warm_start_from(source: Study | str | Path, space: Space) -> WarmStart:
    """The finished trials of ``source`` (a ``Study``, or a store file holding one study)
    that lie inside ``space``, to tell a new strategy.

    A trial continued by a later one (a Hyperband promotion) is told through its
    continuation only; failed and diverged trials are told as such.
    """
    if isinstance(source, (str, Path)):
        from .store import load_study

        source = load_study(source)
    if not isinstance(source, Study):
        raise TypeError(
            f"warm_start takes a Study (tunebench.load_study(...)) or a store file, got {source!r}"
        )
    continued = {t.resume_from for t in source.trials if t.resume_from is not None}
    told: list[tuple[Suggestion, Result]] = []
    skipped, reason = 0, None
    for trial in source.finished_trials:
        if trial.id in continued:
            continue
        try:
            params = space.validate(trial.params)
        except ValueError as exc:
            skipped += 1
            reason = reason or f"trial {trial.id}: {exc}"
            continue
        told.append(_pair(len(told), params, trial.loss, trial.status))
    return WarmStart(f"study {source.name!r}", tuple(told), skipped, reason)


def _key(kind: str, study: str) -> str:
    return f"{kind}:{study}"


def resolve(
    store: Any,
    study: str,
    resumed: bool,
    enqueue: list[dict],
    warm: WarmStart | None,
) -> tuple[list[dict], WarmStart | None]:
    """What the study starts from: for a new study what this call gives; for a resumed one
    what the store kept (a call that gives other configurations or trials is refused with
    ``StudyMismatchError``; one that gives none reuses the stored ones)."""
    if not resumed:
        return enqueue, warm
    import json

    from .store import StudyMismatchError, _dumps

    stored_enqueue = store.get_meta(_key("enqueue", study), [])
    stored_warm = store.get_meta(_key("warm_start", study))
    differences = []
    if enqueue and json.loads(_dumps(enqueue)) != stored_enqueue:
        differences.append(
            f"enqueue: stored {len(stored_enqueue)} configurations, asked {len(enqueue)} other ones"
        )
    if warm is not None:
        asked = json.loads(_dumps(warm.to_json()))
        if stored_warm is None or asked["trials"] != stored_warm["trials"]:
            stored = (
                "none"
                if stored_warm is None
                else f"{len(stored_warm['trials'])} trials of {stored_warm['source']}"
            )
            differences.append(
                f"warm start: stored {stored}, asked {len(warm.told)} trials of {warm.source}"
            )
    if differences:
        raise StudyMismatchError(
            f"the store {store.path!r} already holds a study {study!r} started from other "
            f"configurations ({'; '.join(differences)}): its trials were asked after those. "
            "Rerun it without enqueue= / warm_start= (the stored ones are used), or pass "
            "another study name; to start from this study's trials, pass "
            f"warm_start=load_study({store.path!r}, {study!r}) to a new one"
        )
    return stored_enqueue, None if stored_warm is None else WarmStart.from_json(stored_warm)


def remember(store: Any, study: str, enqueue: list[dict], warm: WarmStart | None) -> None:
    """Keep a new study's enqueued configurations and warm start with it in the store."""
    if enqueue:
        store.set_meta(_key("enqueue", study), enqueue)
    if warm is not None:
        store.set_meta(_key("warm_start", study), warm.to_json())

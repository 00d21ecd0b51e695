"""What a function or model builder takes: the names a search space may set.

``KerasObjective``, ``FunctionObjective``, ``TuneSearchCV`` and ``lr_find`` ask the same
questions of a user's callable (does it take ``input_shape``? ``epochs``? every name of the
space?); the answers are here.

>>> def build(n_hidden, learning_rate=0.01, **kwargs): ...
>>> names_parameter(build, "n_hidden"), names_parameter(build, "epochs"), accepts(build, "epochs")
(True, False, True)
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable

__all__ = ["accepts", "check_names", "names_parameter", "parameters"]


def parameters(fn: Callable) -> dict[str, inspect.Parameter]:
    """``fn``'s parameters by name; empty when it has no signature (some builtins)."""
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # some builtins have no signature
        return {}


def names_parameter(fn: Callable, name: str) -> bool:
    """Whether ``fn`` has a parameter called ``name`` (not merely ``**kwargs``)."""
    return name in parameters(fn)


def accepts(fn: Callable, name: str) -> bool:
    """Whether ``fn`` can be called with the keyword ``name``."""
    taken = parameters(fn)
    return name in taken or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in taken.values())


def check_names(
    space: Iterable[str],
    fn: Callable,
    what: str,
    *,
    also_accepted: Iterable[str] = (),
    provided: Iterable[str] = (),
    conditional: Iterable[str] = (),
) -> None:
    """Refuse a space whose names ``fn`` cannot take, or that leaves out one it requires.

    ``also_accepted`` are names used elsewhere (fit-time names); ``provided`` are filled in
    by the objective; ``conditional`` names are left out when inactive, so ``fn`` must not
    require them. A ``fn`` with ``**kwargs``, or without a signature, takes any name.

    >>> def build(n_hidden, learning_rate=0.01): ...
    >>> check_names(["n_hiden", "learning_rate"], build, "build_model")
    Traceback (most recent call last):
    ...
    ValueError: build_model does not take 'n_hiden' (did you mean 'n_hidden'?), named in the space; it takes n_hidden, learning_rate. Rename the space's parameter, or add it (or **kwargs) to build_model's signature
    """  # noqa: E501
    taken = parameters(fn)
    if not taken:
        return
    space = list(space)
    by_name = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    takes = [n for n, p in taken.items() if p.kind in by_name]
    accepted = [*takes, *(n for n in also_accepted if n not in takes)]
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in taken.values()):
        unknown = [name for name in space if name not in accepted]
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, accepted, n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            one = len(unknown) == 1
            raise ValueError(
                f"{what} does not take {', '.join(hints)}, named in the space; it takes "
                f"{', '.join(accepted) or 'no keyword arguments'}. Rename the space's "
                f"parameter{'' if one else 's'}, or add {'it' if one else 'them'} "
                f"(or **kwargs) to {what}'s signature"
            )
    missing = [
        name
        for name, p in taken.items()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and name not in space
        and name not in provided
    ]
    conditional = [
        name
        for name in conditional
        if name in taken
        and taken[name].default is inspect.Parameter.empty
        and taken[name].kind in by_name
    ]
    if conditional:
        raise ValueError(
            f"{what} requires {', '.join(map(repr, conditional))}, which the space sets only "
            f"when {'it is' if len(conditional) == 1 else 'they are'} active (a condition, "
            "when=...); an inactive parameter is not passed, so give "
            f"{'it a default' if len(conditional) == 1 else 'them defaults'} in {what}"
        )
    if missing:
        raise ValueError(
            f"{what} requires {', '.join(map(repr, missing))}, which the space does not set; "
            f"add {'it' if len(missing) == 1 else 'them'} to the space or give "
            f"{'it a default' if len(missing) == 1 else 'them defaults'} in {what}"
        )

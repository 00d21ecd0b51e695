"""Where trials run: an executor takes trials from the runner and hands back their results.

The runner owns the loop; an executor only runs what it is given. Its interface:

- ``capacity``: how many trials may run at once;
- ``running``: how many are submitted and not yet collected;
- ``submit(objective, suggestion, state, limit=None, pruner=None)``: start one trial, to be
  stopped at its ``TrialLimit`` (``tunebench.limits``) where the executor can, its reports
  going to its ``TrialPruner`` (``tunebench.pruning``), which travels with it and decides in
  its worker;
- ``wait()``: block until at least one trial is finished (or stopped at its limit), return
  the finished ``(suggestion, result)`` pairs;
- ``close()``: stop everything still running.

A trial whose outcome is unknown — its worker died, Ray lost it, it was stopped from outside
at its limit — is ``failed`` with the reason and charged the epochs it was granted, so that
the budget counts every epoch that may have been trained. A worker that cannot start, or
cannot load the objective, raises ``WorkerStartError`` instead: that is no trial's fault, and
nothing is charged.

Why worker processes are started through loky (``joblib.externals.loky``, which joblib
vendors): ``multiprocessing``'s ``spawn`` runs the parent's ``__main__`` again in every
worker, so a plain script without an ``if __name__ == "__main__":`` guard (or code piped on
stdin) killed every worker on start-up. loky starts a worker through its own entry point
without importing ``__main__`` (an objective defined there travels by value, with
cloudpickle). Only loky's process start is used, not its executor: a pool of futures cannot
stop one trial at its time limit, and loses every running trial when one worker dies.

>>> pool = make_executor("inline")
>>> pool.capacity
1
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import os
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_any
from typing import Any, Protocol

from ._quiet import hide_start_up_notices
from .limits import TrialLimit, running_under
from .objective import Objective, describe_error
from .private_api import loky_context
from .pruning import TrialPruner, pruning_under
from .strategy import Result, Suggestion, lost_trial

__all__ = [
    "EXECUTORS",
    "STOP_GRACE",
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "WorkerStartError",
    "evaluate_safely",
    "lost_trial",
    "make_executor",
    "pin_threads",
    "resident_bytes",
]

#: The executor names ``tune(executor=...)`` accepts.
EXECUTORS = ("inline", "processes", "ray")

#: Seconds a trial may run past its limit before its worker is stopped from outside. An
#: objective that trains in epochs stops itself at the limit, between epochs, and reports
#: exactly what it trained; this grace lets it.
STOP_GRACE = 1.0

#: Share of this machine's memory the workers of a ``ProcessExecutor`` may hold together
#: before one is replaced (see ``ProcessExecutor``'s ``max_worker_memory``).
WORKER_MEMORY_SHARE = 0.5


class WorkerStartError(RuntimeError):
    """A worker could not start or could not load the objective; no trial could run."""


class Executor(Protocol):
    capacity: int

    @property
    def running(self) -> int: ...

    def submit(
        self,
        objective: Objective,
        suggestion: Suggestion,
        state: dict[str, Any] | None,
        limit: TrialLimit | None = None,
        pruner: TrialPruner | None = None,
    ) -> None: ...

    def wait(self) -> list[tuple[Suggestion, Result]]: ...

    def close(self) -> None: ...


def worker_name() -> str:
    """``host:pid`` of the process running a trial (stored with every trial)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def evaluate_safely(
    objective: Objective,
    suggestion: Suggestion,
    state: dict[str, Any] | None,
    limit: TrialLimit | None = None,
    pruner: TrialPruner | None = None,
) -> Result:
    """Run one trial under ``limit``, reporting to ``pruner`` (``tunebench.pruning``); an
    exception in user code becomes a ``failed`` result.

    An objective's ``evaluate`` records its own failures with the epochs they trained; one
    that raises, or returns something else than a ``Result``, says nothing of what it
    trained, so its trial is charged its grant.
    """
    try:
        with running_under(limit), pruning_under(pruner):
            result = objective.evaluate(suggestion, state)
        if not isinstance(result, Result):
            raise TypeError(f"{type(objective).__name__}.evaluate must return a Result")
    except Exception as exc:
        result = lost_trial(suggestion, describe_error(exc))
    if result.worker is None:
        result = dataclasses.replace(result, worker=worker_name())
    return result


class InlineExecutor:
    """Runs each trial in the calling process, one at a time.

    ``submit`` only keeps the trial; ``wait`` runs what was submitted (a subclass with a
    larger ``capacity`` may run it together: ``TuneSearchCV`` hands a batch to scikit-learn).
    A trial's limit is only checked by the objective itself: ``KerasObjective`` stops between
    epochs; a plain function cannot be interrupted and runs to its end.
    """

    capacity = 1

    def __init__(self) -> None:
        self.submitted: list[
            tuple[Objective, Suggestion, dict | None, TrialLimit | None, TrialPruner | None]
        ] = []

    @property
    def running(self) -> int:
        return len(self.submitted)

    def submit(
        self,
        objective: Objective,
        suggestion: Suggestion,
        state: dict[str, Any] | None,
        limit: TrialLimit | None = None,
        pruner: TrialPruner | None = None,
    ) -> None:
        self.submitted.append((objective, suggestion, state, limit, pruner))

    def wait(self) -> list[tuple[Suggestion, Result]]:
        submitted, self.submitted = self.submitted, []
        return [(trial[1], evaluate_safely(*trial)) for trial in submitted]

    def close(self) -> None:
        self.submitted.clear()


def _thread_variables(threads: int) -> dict[str, str]:
    """Environment variables that size the OpenMP / BLAS / TensorFlow thread pools."""
    variables = {
        name: str(threads)
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    variables.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS="1")
    if threads == 1:  # XLA's CPU client (the JAX epoch): its matmuls on the calling thread
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            variables["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()
    return variables


def pin_threads(threads: int) -> None:
    """Limit TensorFlow (and XLA's, and the BLAS / OpenMP pools) of this process to ``threads``
    threads.

    Called in each worker before its first trial: N workers on N cores each get one thread
    instead of N fighting pools. Has no effect once TensorFlow has run an op in this process.
    """
    os.environ.update(_thread_variables(threads))
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # TensorFlow already initialised: too late, keep going
            pass


def _uses_tensorflow(objective: Any) -> bool:
    from .objective import KerasObjective

    return isinstance(objective, KerasObjective) or "tensorflow" in sys.modules


def _load_failure(error: str, workers: str = "worker processes") -> WorkerStartError:
    return WorkerStartError(
        f"the {workers} cannot load the objective, so no trial was run or charged: "
        f"{error}\nA worker is a fresh Python process: everything the objective refers to must "
        "be importable there. Define it in the script you run (its functions and classes are "
        "sent by value), in an installed module, or in a module on PYTHONPATH; or send its "
        "module by value with cloudpickle.register_pickle_by_value(module)."
    )


# ---------------------------------------------------------------------------- processes


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux), else its peak; None when unknown."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError):
        return None
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def default_worker_memory(workers: int) -> int | None:
    """``WORKER_MEMORY_SHARE`` of this machine's memory shared out among ``workers``, at
    least 2 GiB; None where the machine's memory is unknown."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None
    return max(2 << 30, int(total * WORKER_MEMORY_SHARE / workers))


def _process_worker(
    conn: Connection, threads: int, tf_log_level: int = 0, max_memory: int | None = None
) -> None:
    """A worker process: receive an objective once, then trials, and send back results.

    ``tf_log_level`` is the driver's ``tensorflow`` logger level (the CLI raises it to hide
    retracing warnings), kept in the worker as in the driver. After a trial that leaves it
    holding more than ``max_memory`` bytes, it sends the result and exits (the driver replaces
    it before its next trial): TensorFlow never frees what it traced, so a worker that meets
    thousands of architectures would otherwise grow without a ceiling.

    To the driver it sends ``("loaded", token, None)`` or ``("load_failed", token, error)``
    after an objective, and ``("result", trial id, Result)`` after a trial
    (``"result_retiring"`` when it then exits).
    """
    import cloudpickle

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if tf_log_level:
        logging.getLogger("tensorflow").setLevel(tf_log_level)
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] >= "1":  # INFO hidden: TensorFlow's notices too
        hide_start_up_notices()
    pin_threads(threads)
    objective: Any = None
    pinned = False
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        kind, *payload = message
        if kind == "objective":
            token, blob = payload
            try:
                objective = cloudpickle.loads(blob)
            except Exception as exc:
                objective = None
                conn.send(("load_failed", token, f"{type(exc).__name__}: {exc}"))
            else:
                conn.send(("loaded", token, None))
            continue
        suggestion, state, limit, pruner = payload
        if objective is None:  # the driver has been told, and stops
            continue
        if not pinned and _uses_tensorflow(objective):
            import tensorflow  # noqa: F401  (imported here so that the pinning applies)

            pin_threads(threads)
            pinned = True
        result = evaluate_safely(objective, suggestion, state, limit, pruner)
        retire = max_memory is not None and (resident_bytes() or 0) > max_memory
        kind = "result_retiring" if retire else "result"  # the driver replaces it at once
        try:
            conn.send((kind, suggestion.id, result))
        except Exception as exc:  # a result that cannot be pickled
            failure = Result.failure(
                f"the trial's result cannot be sent back: {exc!r}", epochs_run=result.epochs_run
            )
            failure = dataclasses.replace(failure, worker=result.worker)
            conn.send((kind, suggestion.id, failure))
        if retire:
            return


@dataclass
class _Worker:
    process: Any
    conn: Connection
    name: str
    objective_token: int | None = None  # the objective last sent to it
    loaded_token: int | None = None  # the objective it confirmed loading
    trial: Suggestion | None = None
    limit: TrialLimit | None = None
    started: float = 0.0
    retiring: bool = False  # it exits after its trial's result (its memory limit)

    def overdue(self) -> bool:
        """Whether its trial ran past its limit and the grace."""
        return self.limit is not None and self.limit.remaining() + STOP_GRACE <= 0


@dataclass
class _Pickled:
    objective: Any
    blob: bytes = field(repr=False)
    token: int = 0


class ProcessExecutor:
    """Runs trials in ``workers`` worker processes on this machine.

    Workers are started through loky (see the module's docstring): they never import the
    user's ``__main__``, so a plain script without a main guard works. Each worker pins
    TensorFlow to ``threads`` intra-op threads (default: the cores shared out, so one each
    when the workers fill the machine), receives the objective once (pickled with
    cloudpickle, so lambdas and closures work), and keeps its compiled training functions
    between trials. A worker that dies (killed, out of memory) fails its trial with the reason
    and is replaced; one that died while idle is replaced before it is given a trial. A worker
    holding more than ``max_worker_memory`` bytes after a trial (default: half this machine's
    memory shared out among the workers, at least 2 GiB; None: no limit) sends its result and
    retires, and a fresh one (which imports TensorFlow again, ~10-20 s) takes the next trial.
    A trial still running ``STOP_GRACE`` seconds past its limit has its worker terminated and
    replaced. ``close()`` stops every worker.

    >>> pool = ProcessExecutor(workers=2)
    >>> from tunebench.objective import FunctionObjective
    >>> from tunebench.strategy import Suggestion
    >>> square = FunctionObjective(lambda x: x * x)
    >>> done = []
    >>> for i in range(3):
    ...     if pool.running == pool.capacity:
    ...         done += pool.wait()
    ...     pool.submit(square, Suggestion(id=i, params={"x": float(i)}), None)
    >>> while pool.running:
    ...     done += pool.wait()
    >>> sorted(r.loss for _, r in done)
    [0.0, 1.0, 4.0]
    >>> pool.close()
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        threads: int | None = None,
        max_worker_memory: int | str | None = "default",
    ) -> None:
        cores = os.cpu_count() or 1
        if workers is None:
            workers = cores
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        if max_worker_memory == "default":
            max_worker_memory = default_worker_memory(workers)
        elif max_worker_memory is not None and (
            isinstance(max_worker_memory, bool)
            or not isinstance(max_worker_memory, int)
            or max_worker_memory < 1
        ):
            raise ValueError(
                "max_worker_memory must be a number of bytes >= 1 or None (no limit), got "
                f"{max_worker_memory!r}"
            )
        self.max_worker_memory = max_worker_memory
        self.capacity = workers
        # One thread a worker when the workers fill the cores; a lone worker gets them all.
        self.threads = threads if threads is not None else max(1, cores // workers)
        self._context = loky_context()
        self._pickled: _Pickled | None = None
        self._tokens = itertools.count(1)
        self._spawned = 0
        self._workers = [self._spawn() for _ in range(workers)]

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        self._spawned += 1
        process = self._context.Process(
            target=_process_worker,
            args=(
                child,
                self.threads,
                logging.getLogger("tensorflow").level,
                self.max_worker_memory,
            ),
            name=f"tunebench-worker-{self._spawned}",
            daemon=True,
            env=_thread_variables(self.threads),  # set before the worker's Python starts
        )
        process.start()
        child.close()
        return _Worker(process, parent, name=f"{socket.gethostname()}:{process.pid}")

    def _replace(self, worker: _Worker) -> _Worker:
        """Stop ``worker`` if it still runs, and put a fresh one in its place."""
        if worker.process.is_alive():
            _kill(worker.process)
        worker.process.join(timeout=5)
        worker.conn.close()
        fresh = self._spawn()
        self._workers[self._workers.index(worker)] = fresh
        return fresh

    @property
    def running(self) -> int:
        return sum(w.trial is not None for w in self._workers)

    def submit(
        self,
        objective: Objective,
        suggestion: Suggestion,
        state: dict[str, Any] | None,
        limit: TrialLimit | None = None,
        pruner: TrialPruner | None = None,
    ) -> None:
        worker = next((w for w in self._workers if w.trial is None), None)
        if worker is None:
            raise RuntimeError("every worker is busy; wait() before submitting more")
        if self._pickled is None or self._pickled.objective is not objective:
            # A token, not id(objective): CPython reuses the ids of freed objects.
            blob = _dumps_objective(objective)
            self._pickled = _Pickled(objective, blob, token=next(self._tokens))
        pickled = self._pickled
        for attempt in (1, 2):
            if not worker.process.is_alive():  # died while idle (killed, out of memory)
                worker = self._replace(worker)
            try:
                if worker.objective_token != pickled.token:
                    worker.conn.send(("objective", pickled.token, pickled.blob))
                    worker.objective_token = pickled.token
                worker.conn.send(("trial", suggestion, state, limit, pruner))
                break
            except OSError as exc:  # it died between the check and the send
                if attempt == 2:
                    raise WorkerStartError(
                        f"a fresh worker process died before it could be given a trial "
                        f"({exc!r}); its error is printed above"
                    ) from exc
                worker = self._replace(worker)
        worker.trial, worker.limit, worker.started = suggestion, limit, time.monotonic()

    def _collect(self, worker: _Worker) -> Result | None:
        """Read what ``worker`` has sent; its trial's result, if it came."""
        result: Result | None = None
        try:
            while worker.conn.poll():
                kind, token, payload = worker.conn.recv()
                if kind == "loaded":
                    worker.loaded_token = token
                elif kind == "load_failed":
                    raise _load_failure(payload)
                elif (
                    kind in ("result", "result_retiring")
                    and worker.trial is not None
                    and token == worker.trial.id
                ):
                    result = payload
                    worker.retiring = kind == "result_retiring"
        except (EOFError, OSError):
            pass
        return result

    def _timeout(self, busy: list[_Worker]) -> float | None:
        """Seconds until the first busy worker is overdue, or None when none has a limit."""
        limits = [w.limit.remaining() + STOP_GRACE for w in busy if w.limit is not None]
        return max(0.0, min(limits)) if limits else None

    def wait(self) -> list[tuple[Suggestion, Result]]:
        while True:
            busy = [w for w in self._workers if w.trial is not None]
            if not busy:
                return []
            finished = self._wait_once(busy)
            if finished:  # (a worker's acknowledgement alone wakes the wait, too)
                return finished

    def _wait_once(self, busy: list[_Worker]) -> list[tuple[Suggestion, Result]]:
        wait_for_any(
            [w.conn for w in busy] + [w.process.sentinel for w in busy], self._timeout(busy)
        )
        finished: list[tuple[Suggestion, Result]] = []
        for worker in busy:
            suggestion = worker.trial
            assert suggestion is not None
            result = self._collect(worker)
            seconds = time.monotonic() - worker.started
            if result is None and worker.process.is_alive():
                if not worker.overdue():
                    continue  # still training
                assert worker.limit is not None
                result = lost_trial(
                    suggestion,
                    f"{worker.limit.reason}: its worker process was stopped",
                    worker=worker.name,
                    seconds=seconds,
                )
                self._replace(worker)
            elif result is None:
                worker.process.join(timeout=1)
                code = worker.process.exitcode
                if worker.loaded_token != worker.objective_token:
                    raise WorkerStartError(
                        f"worker process {worker.name} exited (code {code}) while starting, "
                        "before it had loaded the objective, so no trial was run or charged; "
                        "its error is printed above. If it could not import something the "
                        "objective needs, make that importable in a fresh Python process (an "
                        "installed module, PYTHONPATH)."
                    )
                result = lost_trial(
                    suggestion,
                    f"worker process {worker.name} died during the trial (exit code {code}: "
                    "killed, or out of memory)",
                    worker=worker.name,
                    seconds=seconds,
                )
                self._replace(worker)
            worker.trial = worker.limit = None
            finished.append((suggestion, result))
            if worker.retiring:  # a fresh worker starts now, while the others train
                self._replace(worker)
        return finished

    def close(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
        for worker in self._workers:
            if worker.trial is not None:  # interrupted mid-trial: do not wait for it
                worker.process.terminate()
        # An idle worker exits at once; one still starting up (a replacement) is stopped.
        deadline = time.monotonic() + 1
        for worker in self._workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                _kill(worker.process)
                worker.process.join(timeout=5)
            worker.conn.close()
            worker.trial = worker.limit = None


def _kill(process: Any) -> None:
    """Stop ``process`` at once (SIGKILL; loky's processes have no ``kill()``)."""
    if hasattr(signal, "SIGKILL"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    else:  # Windows: TerminateProcess is already immediate
        process.terminate()


def _dumps_objective(objective: Any) -> bytes:
    import cloudpickle

    try:
        return cloudpickle.dumps(objective)
    except Exception as exc:
        raise TypeError(
            f"the objective {objective!r} cannot be sent to worker processes "
            f"({describe_error(exc)}); keep what it holds picklable (data as numpy arrays, "
            "functions rather than open files or live models)"
        ) from exc


# ---------------------------------------------------------------------------- ray


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError(
            "executor='ray' needs Ray, which is optional: pip install 'tunebench[ray]'"
        ) from exc
    return ray


_RAY_TRIAL: Any = None
_PINNED_IN_RAY_WORKER = False
_RAY_WORKER_OBJECTIVE: tuple[str, Any] = ("", None)


def _ray_worker_objective(key: str, blob: bytes) -> Any:
    """The objective in a Ray worker, unpickled once per worker and kept between trials (so
    that its compiled training functions are reused)."""
    global _RAY_WORKER_OBJECTIVE
    if _RAY_WORKER_OBJECTIVE[0] != key:
        import cloudpickle

        _RAY_WORKER_OBJECTIVE = (key, cloudpickle.loads(blob))
    return _RAY_WORKER_OBJECTIVE[1]


def _ray_trial_function(ray: Any) -> Any:
    """The Ray task that runs one trial (created once, when Ray is first used).

    It returns the trial's ``Result``, or the text of the error when the objective cannot be
    loaded in the Ray worker (the driver then raises ``WorkerStartError``).
    """
    global _RAY_TRIAL
    if _RAY_TRIAL is None:

        def run_trial(
            key: str,
            blob: bytes,
            suggestion: Suggestion,
            state: dict[str, Any] | None,
            threads: int,
            limit: TrialLimit | None = None,
            pruner: TrialPruner | None = None,
        ) -> Result | str:
            global _PINNED_IN_RAY_WORKER
            try:
                objective = _ray_worker_objective(key, blob)
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"
            if not _PINNED_IN_RAY_WORKER:
                os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
                pin_threads(threads)
                if _uses_tensorflow(objective):
                    import tensorflow  # noqa: F401

                    pin_threads(threads)
                _PINNED_IN_RAY_WORKER = True
            node = ray.get_runtime_context().get_node_id()
            result = evaluate_safely(objective, suggestion, state, limit, pruner)
            return dataclasses.replace(
                result, worker=f"{socket.gethostname()}:{os.getpid()}@node:{node[:12]}"
            )

        _RAY_TRIAL = ray.remote(num_cpus=1, max_retries=0)(run_trial)
    return _RAY_TRIAL


@dataclass
class _RayTrial:
    suggestion: Suggestion
    limit: TrialLimit | None
    started: float


class RayExecutor:
    """Runs trials as Ray tasks, on a local Ray or on a cluster.

    ``address=None`` joins the Ray this process already started, or starts a local one
    (dashboard off, stopped again by ``close()``); ``"auto"`` joins the cluster started on
    this machine with ``ray start --head``; ``"ray://host:port"`` a remote cluster through
    Ray Client. Everything a trial needs (objective, suggestion, continuation state) travels
    with the task, so no shared disk is needed; only the driver writes the store. A task lost
    with its node fails its trial with the reason, charged its grant; the search goes on on
    the other nodes. A trial still running ``STOP_GRACE`` seconds past its limit is cancelled
    (its worker process is killed). ``workers`` defaults to the cluster's CPUs (one trial per
    CPU).
    """

    def __init__(
        self, workers: int | None = None, *, address: str | None = None, threads: int = 1
    ) -> None:
        ray = self._ray = _import_ray()
        self._started_ray = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
            if address is None:  # Ray's None would join the cluster last started here
                kwargs["include_dashboard"] = False
            ray.init(address="local" if address is None else address, **kwargs)
            self._started_ray = address is None
        if workers is None:
            workers = max(int(ray.cluster_resources().get("CPU", 1)), 1)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.capacity = workers
        self.threads = threads
        self._task = _ray_trial_function(ray)
        self._objective: Any = None
        self._objective_ref: Any = None
        self._objective_key = ""
        self._pending: dict[Any, _RayTrial] = {}

    @property
    def running(self) -> int:
        return len(self._pending)

    def submit(
        self,
        objective: Objective,
        suggestion: Suggestion,
        state: dict[str, Any] | None,
        limit: TrialLimit | None = None,
        pruner: TrialPruner | None = None,
    ) -> None:
        if self._objective is not objective:
            # Pickled here with cloudpickle (not Ray's own copy), as for worker processes, so
            # that cloudpickle.register_pickle_by_value(module) works for both executors.
            blob = _dumps_objective(objective)
            self._objective, self._objective_ref = objective, self._ray.put(blob)
            self._objective_key = uuid.uuid4().hex  # Ray workers keep the objective by it
        ref = self._task.remote(
            self._objective_key, self._objective_ref, suggestion, state, self.threads, limit, pruner
        )
        self._pending[ref] = _RayTrial(suggestion, limit, time.monotonic())

    def wait(self) -> list[tuple[Suggestion, Result]]:
        if not self._pending:
            return []
        ray = self._ray
        limits = [t.limit.remaining() + STOP_GRACE for t in self._pending.values() if t.limit]
        timeout = max(0.0, min(limits)) if limits else None
        ray.wait(list(self._pending), num_returns=1, timeout=timeout)
        ready, _ = ray.wait(list(self._pending), num_returns=len(self._pending), timeout=0)
        finished = []
        for ref in ready:
            trial = self._pending.pop(ref)
            seconds = time.monotonic() - trial.started
            try:
                result = ray.get(ref)
            except Exception as exc:  # the task's worker or node died, or Ray lost it
                reason = f"Ray lost the trial: {describe_error(exc)}"
                result = lost_trial(trial.suggestion, reason, seconds=seconds)
            if isinstance(result, str):
                raise _load_failure(result, "Ray workers")
            finished.append((trial.suggestion, result))
        for ref, trial in list(self._pending.items()):
            if trial.limit is not None and trial.limit.remaining() + STOP_GRACE <= 0:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
                del self._pending[ref]
                reason = f"{trial.limit.reason}: its Ray task was cancelled"
                seconds = time.monotonic() - trial.started
                finished.append(
                    (trial.suggestion, lost_trial(trial.suggestion, reason, seconds=seconds))
                )
        return finished

    def close(self) -> None:
        for ref in self._pending:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=True)
        self._pending.clear()
        self._objective = self._objective_ref = None
        if self._started_ray:
            self._ray.shutdown()


def make_executor(
    name: str = "inline", *, workers: int | None = None, address: str | None = None
) -> Executor:
    """The executor called ``name``; see ``tune`` for ``workers`` and ``address``."""
    if address is not None and name in EXECUTORS and name != "ray":
        raise ValueError(
            f"address={address!r} is the Ray cluster to join, for executor='ray' only, got "
            f"executor={name!r}; drop address= or use executor='ray'"
        )
    if name == "inline":
        if workers not in (None, 1):
            raise ValueError(
                f"executor='inline' runs one trial at a time, got workers={workers!r}; "
                "use executor='processes' (or 'ray') for parallel trials"
            )
        return InlineExecutor()
    if name == "processes":
        return ProcessExecutor(workers)
    if name == "ray":
        return RayExecutor(workers, address=address)
    raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")

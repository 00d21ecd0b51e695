"""Where trials run: an executor takes trials from the runner and hands back their results.

The runner owns the loop; an executor only runs what it is given. Its interface:

- ``capacity``: how many trials may run at once;
- ``running``: how many are submitted and not yet collected;
- ``submit(objective, suggestion, state)``: start one trial;
- ``wait()``: block until at least one trial is finished, return the finished
  ``(suggestion, result)`` pairs;
- ``close()``: stop everything still running.

>>> pool = make_executor("inline")
>>> pool.capacity
1
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_any
from typing import Any, Protocol

from .objective import Objective, describe_error
from .strategy import Result, Suggestion

__all__ = [
    "EXECUTORS",
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "evaluate_safely",
    "make_executor",
    "pin_threads",
]

#: The executor names ``tune(executor=...)`` accepts.
EXECUTORS = ("inline", "processes", "ray")


class Executor(Protocol):
    capacity: int

    @property
    def running(self) -> int: ...

    def submit(
        self, objective: Objective, suggestion: Suggestion, state: dict[str, Any] | None
    ) -> None: ...

    def wait(self) -> list[tuple[Suggestion, Result]]: ...

    def close(self) -> None: ...


def worker_name() -> str:
    """``host:pid`` of the process running a trial (stored with every trial)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def evaluate_safely(
    objective: Objective, suggestion: Suggestion, state: dict[str, Any] | None
) -> Result:
    """Run one trial; an exception in user code becomes a ``failed`` result."""
    try:
        result = objective.evaluate(suggestion, state)
        if not isinstance(result, Result):
            raise TypeError(f"{type(objective).__name__}.evaluate must return a Result")
    except Exception as exc:
        result = Result.failure(describe_error(exc))
    if result.worker is None:
        result = dataclasses.replace(result, worker=worker_name())
    return result


class InlineExecutor:
    """Runs each trial in the calling process, one at a time."""

    capacity = 1

    def __init__(self) -> None:
        self._finished: list[tuple[Suggestion, Result]] = []

    @property
    def running(self) -> int:
        return len(self._finished)

    def submit(
        self, objective: Objective, suggestion: Suggestion, state: dict[str, Any] | None
    ) -> None:
        self._finished.append((suggestion, evaluate_safely(objective, suggestion, state)))

    def wait(self) -> list[tuple[Suggestion, Result]]:
        finished, self._finished = self._finished, []
        return finished

    def close(self) -> None:
        self._finished.clear()


def pin_threads(threads: int) -> None:
    """Limit TensorFlow (and the BLAS / OpenMP pools) of this process to ``threads`` threads.

    Called in each worker before its first trial: N workers on N cores each get one thread
    instead of N fighting pools. Has no effect once TensorFlow has run an op in this process.
    """
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
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


# ---------------------------------------------------------------------------- processes


def _process_worker(conn: Connection, threads: int) -> None:
    """A worker process: receive an objective once, then trials, and send back results."""
    import cloudpickle

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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
        kind, payload = message
        if kind == "objective":
            objective = cloudpickle.loads(payload)
            continue
        suggestion, state = payload
        if not pinned and _uses_tensorflow(objective):
            import tensorflow  # noqa: F401  (imported here so that the pinning applies)

            pin_threads(threads)
            pinned = True
        conn.send(evaluate_safely(objective, suggestion, state))


@dataclass
class _Worker:
    process: Any
    conn: Connection
    name: str
    trial: Suggestion | None = None
    objective_key: int | None = None


@dataclass
class _Pickled:
    objective: Any
    blob: bytes = field(repr=False)


class ProcessExecutor:
    """Runs trials in ``workers`` worker processes on this machine (spawned, not forked).

    Each worker pins TensorFlow to ``threads`` intra-op threads (default: the cores shared
    out, so one each when the workers fill the machine), receives the objective once
    (pickled with cloudpickle, so lambdas and closures work), and keeps its compiled
    training functions between trials. A worker that dies (killed, out of memory)
    fails its trial with the reason and is replaced; ``close()`` stops every worker.

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

    def __init__(self, workers: int | None = None, *, threads: int | None = None) -> None:
        cores = os.cpu_count() or 1
        if workers is None:
            workers = cores
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.capacity = workers
        # One thread a worker when the workers fill the cores; a lone worker gets them all.
        self.threads = threads if threads is not None else max(1, cores // workers)
        self._context = multiprocessing.get_context("spawn")
        self._pickled: _Pickled | None = None
        self._spawned = 0
        self._workers = [self._spawn() for _ in range(workers)]

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        self._spawned += 1
        process = self._context.Process(
            target=_process_worker,
            args=(child, self.threads),
            name=f"tunebench-worker-{self._spawned}",
            daemon=True,
        )
        process.start()
        child.close()
        return _Worker(process, parent, name=f"{socket.gethostname()}:{process.pid}")

    @property
    def running(self) -> int:
        return sum(w.trial is not None for w in self._workers)

    def submit(
        self, objective: Objective, suggestion: Suggestion, state: dict[str, Any] | None
    ) -> None:
        worker = next((w for w in self._workers if w.trial is None), None)
        if worker is None:
            raise RuntimeError("every worker is busy; wait() before submitting more")
        if self._pickled is None or self._pickled.objective is not objective:
            self._pickled = _Pickled(objective, _dumps_objective(objective))
        if worker.objective_key != id(objective):
            worker.conn.send(("objective", self._pickled.blob))
            worker.objective_key = id(objective)
        worker.conn.send(("trial", (suggestion, state)))
        worker.trial = suggestion

    def wait(self) -> list[tuple[Suggestion, Result]]:
        busy = [w for w in self._workers if w.trial is not None]
        if not busy:
            return []
        wait_for_any([w.conn for w in busy] + [w.process.sentinel for w in busy])
        finished: list[tuple[Suggestion, Result]] = []
        for worker in busy:
            suggestion = worker.trial
            assert suggestion is not None
            result: Result | None = None
            try:
                if worker.conn.poll():
                    result = worker.conn.recv()
            except (EOFError, OSError):
                result = None
            if result is None and worker.process.is_alive():
                continue  # still training
            if result is None:
                worker.process.join(timeout=1)
                result = dataclasses.replace(
                    Result.failure(
                        f"worker process {worker.name} died during the trial (exit code "
                        f"{worker.process.exitcode}: killed, or out of memory)"
                    ),
                    worker=worker.name,
                )
                self._workers[self._workers.index(worker)] = self._spawn()
            worker.trial = None
            finished.append((suggestion, result))
        return finished

    def close(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
        for worker in self._workers:
            if worker.trial is not None:  # interrupted mid-trial: do not wait for it
                worker.process.terminate()
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.conn.close()
            worker.trial = None


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
    """The Ray task that runs one trial (created once, when Ray is first used)."""
    global _RAY_TRIAL
    if _RAY_TRIAL is None:

        def run_trial(
            key: str,
            blob: bytes,
            suggestion: Suggestion,
            state: dict[str, Any] | None,
            threads: int,
        ) -> Result:
            global _PINNED_IN_RAY_WORKER
            objective = _ray_worker_objective(key, blob)
            if not _PINNED_IN_RAY_WORKER:
                os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
                pin_threads(threads)
                if _uses_tensorflow(objective):
                    import tensorflow  # noqa: F401

                    pin_threads(threads)
                _PINNED_IN_RAY_WORKER = True
            node = ray.get_runtime_context().get_node_id()
            result = evaluate_safely(objective, suggestion, state)
            return dataclasses.replace(
                result, worker=f"{socket.gethostname()}:{os.getpid()}@node:{node[:12]}"
            )

        _RAY_TRIAL = ray.remote(num_cpus=1, max_retries=0)(run_trial)
    return _RAY_TRIAL


class RayExecutor:
    """Runs trials as Ray tasks, on a local Ray or on a cluster.

    ``address=None`` joins the Ray this process already started, or starts a local one
    (dashboard off, stopped again by ``close()``); ``"auto"`` joins the cluster started on
    this machine with ``ray start --head``; ``"ray://host:port"`` a remote cluster through
    Ray Client. Everything a trial needs (objective, suggestion, continuation state) travels
    with the task, so no shared disk is needed; only the driver writes the store. A task lost
    with its node fails its trial with the reason; the search goes on on the other nodes.
    ``workers`` defaults to the cluster's CPUs (one trial per CPU).
    """

    def __init__(
        self, workers: int | None = None, *, address: str | None = None, threads: int = 1
    ) -> None:
        ray = self._ray = _import_ray()
        self._started_ray = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
            if address is None:
                kwargs["include_dashboard"] = False
            ray.init(address=address, **kwargs)
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
        self._pending: dict[Any, Suggestion] = {}

    @property
    def running(self) -> int:
        return len(self._pending)

    def submit(
        self, objective: Objective, suggestion: Suggestion, state: dict[str, Any] | None
    ) -> None:
        if self._objective is not objective:
            # Pickled here with cloudpickle (not Ray's own copy), as for worker processes, so
            # that cloudpickle.register_pickle_by_value(module) works for both executors.
            blob = _dumps_objective(objective)
            self._objective, self._objective_ref = objective, self._ray.put(blob)
            self._objective_key = f"{os.getpid()}:{id(objective)}:{hash(blob)}"
        ref = self._task.remote(
            self._objective_key, self._objective_ref, suggestion, state, self.threads
        )
        self._pending[ref] = suggestion

    def wait(self) -> list[tuple[Suggestion, Result]]:
        if not self._pending:
            return []
        ray = self._ray
        ready, _ = ray.wait(list(self._pending), num_returns=1)
        ready, _ = ray.wait(list(self._pending), num_returns=len(self._pending), timeout=0)
        finished = []
        for ref in ready:
            suggestion = self._pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as exc:  # the task's worker or node died, or Ray lost it
                result = Result.failure(f"Ray lost the trial: {describe_error(exc)}")
            finished.append((suggestion, result))
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

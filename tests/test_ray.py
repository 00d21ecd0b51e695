"""executor="ray": a real local Ray, then a real two-node Ray cluster on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import pytest

from tunebench import (
    Budget,
    Float,
    FunctionObjective,
    Int,
    KerasObjective,
    Space,
    available_strategies,
    tune,
)
from tunebench.models import book_space, build_mlp

ray = pytest.importorskip("ray")  # the dev extras install it; `pip install tunebench[ray]`

# Ray workers cannot import this test module: send its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

SPACE = Space(x=Float(0, 1), n=Int(1, 8))


def bowl(x, n):
    return (x - 0.3) ** 2 + 0.01 * (n - 4) ** 2


def bowl_with_epochs(epochs, x, n):
    return bowl(x, n) + 1.0 / epochs


def reporting_bowl(epochs, x, n, report):
    for epoch in range(1, epochs + 1):
        report(epoch, bowl_with_epochs(epoch, x, n))
    return bowl_with_epochs(epochs, x, n)


@pytest.fixture(scope="module")
def local_ray():
    # Token authentication off, as for the cluster below: a local ray.init() turns it on for
    # the rest of the process (RAY_AUTH_MODE=token) when ~/.ray/auth_token exists.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_AUTH_MODE", "disabled")
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        yield
        ray.shutdown()


def test_every_strategy_completes_through_ray(local_ray):
    for name in available_strategies():
        study = tune(
            FunctionObjective(reporting_bowl, max_epochs=4),
            SPACE,
            strategy=name,
            budget=Budget(epochs=20),
            seed=0,
            executor="ray",
            workers=2,
            progress=False,
        )
        assert study.trials and study.epochs_spent <= 20, name
        # asha and bohb prune in the Ray workers, from the reports: charged what they trained
        assert all(t.status in ("ok", "pruned") for t in study.trials), (name, study.trials)
        assert all(t.epochs_run == len(t.curve) for t in study.trials), name
        assert name != "asha" or any(t.status == "pruned" for t in study.trials)
        assert all("@node:" in t.worker for t in study.trials), name


def test_keras_trials_and_hyperband_continuations_travel_through_ray(local_ray, small_housing):
    study = tune(
        KerasObjective(build_mlp, small_housing, max_epochs=9, patience=3),
        book_space(),
        strategy="hyperband",
        budget=Budget(epochs=40),
        seed=0,
        executor="ray",
        workers=2,
        progress=False,
    )
    assert all(t.status == "ok" for t in study.trials)
    assert any(t.initial_epoch > 0 for t in study.trials)
    assert study.epochs_spent == sum(t.epochs_run for t in study.trials) <= 40


def hangs(x, n):
    time.sleep(30 if x > 0.5 else 0)
    return bowl(x, n)


def test_ray_cancels_a_trial_at_its_timeout_or_at_the_time_budget(local_ray):
    start = time.monotonic()
    study = tune(
        hangs,
        SPACE,
        budget=Budget(trials=6),
        seed=0,
        executor="ray",
        workers=2,
        trial_timeout=1,
        progress=False,
    )
    assert time.monotonic() - start < 30
    hung = [t for t in study.trials if t.params["x"] > 0.5]
    assert hung and len(study.trials) == 6
    for trial in study.trials:
        if trial in hung:
            assert trial.status == "failed" and "exceeded trial_timeout=1s" in trial.error
            assert "its Ray task was cancelled" in trial.error
        else:
            assert trial.status == "ok"
    start = time.monotonic()
    study = tune(
        lambda x, n: hangs(0.9, n), SPACE, budget=Budget(seconds=3), executor="ray", workers=2,
        progress=False,
    )  # fmt: skip
    assert time.monotonic() - start < 15 and study.stop_reason == "seconds"
    assert all("time budget, Budget(seconds=3)" in t.error for t in study.trials)


GHOST_MODULE = """
class Ghost:
    max_epochs = None

    def evaluate(self, suggestion, state=None):
        from tunebench import Result
        return Result(loss=suggestion.params["x"])
"""


def test_an_objective_ray_workers_cannot_import_stops_with_a_clear_error(local_ray, tmp_path):
    from tunebench.executors import WorkerStartError

    (tmp_path / "ghost_for_ray.py").write_text(GHOST_MODULE)
    sys.path.insert(0, str(tmp_path))
    try:
        import ghost_for_ray
    finally:
        sys.path.remove(str(tmp_path))
    try:
        with pytest.raises(WorkerStartError, match="Ray workers cannot load the objective"):
            tune(
                ghost_for_ray.Ghost(),
                SPACE,
                budget=Budget(trials=4),
                executor="ray",
                workers=2,
                progress=False,
            )
    finally:
        sys.modules.pop("ghost_for_ray", None)


# ----------------------------------------------------------------------------- cluster


def marking_slow_bowl(marks: Path):
    """A 1.5 s bowl that leaves a file named after its node when it starts: the test can see
    a trial running on a node before it takes the node away."""

    def slow_bowl(x, n):
        node = ray.get_runtime_context().get_node_id()
        (marks / f"{node}-{time.monotonic_ns()}").touch()
        time.sleep(1.5)
        return bowl(x, n)

    return slow_bowl


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@ray.remote(num_cpus=1)
def _node_id() -> str:
    return ray.get_runtime_context().get_node_id()


@pytest.fixture
def two_node_cluster(monkeypatch):
    """A head node and a second node on 127.0.0.1, one CPU each, dashboard off. Both run in
    the foreground (``--block``) in process groups of their own, and only this cluster's
    processes are stopped at the end (``ray stop`` would stop every Ray on the machine)."""
    ray.shutdown()
    ray_cli = str(Path(sys.executable).parent / "ray")
    # `ray start` turns token authentication on when ~/.ray/auth_token exists (a local
    # ray.init() writes one), while a driver given an address never does: one mode for both.
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    env = {
        **os.environ,
        "RAY_health_check_period_ms": "500",
        "RAY_health_check_timeout_ms": "500",
        "RAY_health_check_failure_threshold": "3",
    }
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats", "--block"]
    port = _free_port()
    address = f"127.0.0.1:{port}"
    nodes = []

    def start(*flags: str) -> subprocess.Popen:
        node = subprocess.Popen(
            [ray_cli, "start", *flags, *common],
            env=env,
            start_new_session=True,  # its own process group: the test can take the node away
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        nodes.append(node)
        return node

    try:
        start("--head", f"--port={port}", "--include-dashboard=false")
        deadline = time.monotonic() + 180
        while True:  # until the head node takes a driver
            try:
                ray.init(address=address, log_to_driver=False)
                break
            except (ConnectionError, RuntimeError):
                assert time.monotonic() < deadline, "the head node never started"
                time.sleep(1.0)
        second = start(f"--address={address}")
        while sum(node["Alive"] for node in ray.nodes()) < 2:
            assert time.monotonic() < deadline, "the second node never joined"
            time.sleep(0.5)
        head = ray.get_runtime_context().get_node_id()  # the driver runs on the head node
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        # A worker process started on each node before the study: on a loaded machine the
        # second node's first worker can take longer to start than the head needs for all
        # the study's trials, which then never run on the second node.
        ray.get(
            [
                _node_id.options(
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
                ).remote()
                for node in ray.nodes()
                if node["Alive"]
            ],
            timeout=120,
        )
        yield address, second, head
    finally:
        ray.shutdown()
        for node in nodes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.pid, signal.SIGTERM)  # `ray start --block` stops its node
        for node in nodes:
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait(timeout=30)
        # What a killed node left behind: the processes that name this cluster's address.
        subprocess.run(["pkill", "-9", "-f", address], capture_output=True, timeout=30)


def _nodes(workers: list[str]) -> list[str]:
    return [w.split("@node:")[1] for w in workers if "@node:" in w]


def _finished_workers(db: Path) -> list[str]:
    try:
        with contextlib.closing(sqlite3.connect(db)) as con:
            rows = con.execute("SELECT worker FROM trials WHERE status != 'running'").fetchall()
    except sqlite3.OperationalError:  # the study is not created yet
        return []
    return [w for (w,) in rows]


def test_a_study_runs_on_both_nodes_and_survives_losing_one(two_node_cluster, tmp_path):
    address, second_node, head = two_node_cluster
    db = tmp_path / "runs.db"
    marks = tmp_path / "started"
    marks.mkdir()
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["study"] = tune(
                marking_slow_bowl(marks),
                SPACE,
                strategy="random",
                budget=Budget(trials=16),
                seed=0,
                storage=db,
                executor="ray",
                address=address,
                workers=2,
                progress=False,
            )
        except BaseException as exc:
            outcome["error"] = exc

    driver = threading.Thread(target=run)
    driver.start()
    deadline = time.monotonic() + 120
    while True:  # until the second node has finished a trial and is running its next one
        assert time.monotonic() < deadline and driver.is_alive(), (
            outcome,
            _finished_workers(db),
            sorted(m.name for m in marks.iterdir()),
            head,
        )
        finished = [n for n in _nodes(_finished_workers(db)) if not head.startswith(n)]
        started = [m.name for m in marks.iterdir() if not m.name.startswith(head)]
        if finished and len(started) > len(finished):
            break
        time.sleep(0.05)
    os.killpg(second_node.pid, signal.SIGKILL)  # the second node goes away mid-trial
    killed_after = len(_finished_workers(db))
    driver.join(timeout=300)
    assert not driver.is_alive(), "the study did not finish after losing a node"
    assert "error" not in outcome, outcome.get("error")
    study = outcome["study"]
    assert len(study.trials) == 16 and study.stop_reason == "trials"
    nodes = {t.worker.split("@node:")[1] for t in study.trials if t.status == "ok"}
    assert len(nodes) == 2, "trials did not run on both nodes"
    later = [t for t in study.trials if t.status == "ok"][killed_after:]
    assert later and all(head.startswith(t.worker.split("@node:")[1]) for t in later[1:])
    lost = [t for t in study.trials if t.status == "failed"]
    assert lost, "no trial was lost with the node"
    for trial in lost:
        assert "Ray lost the trial" in trial.error and trial.epochs_run == 1  # charged


def test_a_local_ray_is_started_for_the_study_even_when_a_cluster_runs_on_the_machine(
    two_node_cluster, tmp_path
):
    """address=None is a Ray of the study's own: Ray's default would join the cluster
    started last on this machine (someone else's benchmark, say)."""
    cluster, _, _ = two_node_cluster
    ray.shutdown()  # the fixture's driver: tune starts Ray itself

    def where(x, n):  # the port of the cluster it runs on (its host may read 127.0.0.1)
        (tmp_path / ray.get_runtime_context().gcs_address.rsplit(":", 1)[1]).touch()
        return bowl(x, n)

    study = tune(where, SPACE, budget=Budget(trials=2), executor="ray", progress=False)
    assert [t.status for t in study.trials] == ["ok", "ok"]
    ports = {path.name for path in tmp_path.iterdir()}
    assert ports and cluster.rsplit(":", 1)[1] not in ports

"""TensorBoard logs (``tune(..., log_dir=...)``), read back with TensorBoard's own event
reader and the HParams plugin's own session-group handler (what its dashboard shows)."""

import math
import subprocess
import sys

import pytest

from tunebench import Budget, Choice, Float, FunctionObjective, Int, Result, Space, tune

SPACE = Space(x=Float(0, 1), n=Int(1, 4), act=Choice(["relu", "tanh"]))


def flaky(x, n, act, epochs):
    if n == 4:
        raise RuntimeError("n=4 is refused")
    curve = [x + n / (epoch + 1) for epoch in range(epochs)]
    return Result(loss=min(curve), epochs_run=epochs, curve=curve, test_loss=min(curve) + 0.5)


def read_back(log_dir):
    """(the multiplexer, the HParams experiment, the session groups the dashboard lists)."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups, metadata

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(log_dir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(log_dir))
    backend = backend_context.Context(
        base_plugin.TBContext(data_provider=provider, logdir=str(log_dir), multiplexer=multiplexer)
    )
    content = multiplexer.PluginRunToTagToContent(metadata.PLUGIN_NAME)
    (experiment,) = [
        metadata.parse_experiment_plugin_data(tags[metadata.EXPERIMENT_TAG])
        for tags in content.values()
        if metadata.EXPERIMENT_TAG in tags
    ]
    every_status = [api_pb2.Status.Value(s) for s in api_pb2.Status.keys()]  # noqa: SIM118 (an enum)
    request = api_pb2.ListSessionGroupsRequest(
        start_index=0, slice_size=1000, allowed_statuses=every_status
    )
    groups = list_session_groups.Handler(context.RequestContext(), backend, "", request).run()
    return multiplexer, experiment, groups.session_groups


def scalars(multiplexer, run, tag):
    """``[(step, value)]`` of a scalar tag of a run, as TensorBoard stores them."""
    from tensorboard.util import tensor_util

    return [
        (event.step, tensor_util.make_ndarray(event.tensor_proto).item())
        for event in multiplexer.Tensors(run, tag)
    ]


def value_of(hparam_value):
    kind = hparam_value.WhichOneof("kind")
    return getattr(hparam_value, kind)


def test_every_trial_is_a_session_with_its_parameters_losses_status_and_curve(tmp_path):
    study = tune(FunctionObjective(flaky, max_epochs=4), SPACE, "random", Budget(trials=12),
                 seed=0, storage=tmp_path / "runs.db", log_dir=tmp_path / "logs",
                 progress=False)  # fmt: skip
    statuses = {t.status for t in study.trials}
    assert statuses == {"ok", "failed"}, statuses
    multiplexer, experiment, groups = read_back(tmp_path / "logs")

    assert [h.name for h in experiment.hparam_infos] == ["x", "n", "act"]
    act = experiment.hparam_infos[2].domain_discrete.values
    assert [v.string_value for v in act] == ["relu", "tanh"]
    assert {m.name.tag for m in experiment.metric_infos} == {"validation_loss", "test_loss"}

    by_run = {group.sessions[0].name: group for group in groups}
    assert sorted(by_run) == [f"random-seed0/trial-{t.id:04d}" for t in study.trials]
    for trial in study.trials:
        run = f"random-seed0/trial-{trial.id:04d}"
        group = by_run[run]
        params = {k: value_of(v) for k, v in group.hparams.items()}
        assert params == pytest.approx(trial.params)
        session = group.sessions[0]
        expected = "STATUS_SUCCESS" if trial.status == "ok" else "STATUS_FAILURE"
        assert api_status(session.status) == expected
        metrics = {m.name.tag: m.value for m in session.metric_values}
        if trial.status == "ok":
            assert metrics == pytest.approx(
                {"validation_loss": trial.loss, "test_loss": trial.test_loss}, rel=1e-6
            )
            curve = scalars(multiplexer, run, "epoch/validation_loss")
            assert [step for step, _ in curve] == [1, 2, 3, 4]
            assert [value for _, value in curve] == pytest.approx(list(trial.curve), rel=1e-6)
        else:
            assert metrics == {} and math.isinf(trial.loss)


def api_status(value):
    from tensorboard.plugins.hparams import api_pb2

    return api_pb2.Status.Name(value)


def test_a_resumed_study_logs_the_trials_of_sessions_without_a_log_once(tmp_path):
    storage, logs = tmp_path / "runs.db", tmp_path / "logs"
    objective = FunctionObjective(flaky, max_epochs=4)
    tune(objective, SPACE, "tpe", Budget(trials=3), storage=storage, progress=False)
    with pytest.warns(UserWarning, match="extending"):
        tune(objective, SPACE, "tpe", Budget(trials=5), storage=storage, log_dir=logs,
             progress=False)  # fmt: skip
    again = tune(objective, SPACE, "tpe", Budget(trials=5), storage=storage, log_dir=logs,
                 progress=False)  # fmt: skip
    assert len(again.trials) == 5  # nothing new: nothing written twice
    runs = sorted(p.name for p in (logs / "tpe-seed0").iterdir() if p.is_dir())
    assert runs == [f"trial-{i:04d}" for i in range(5)]
    assert all(len(list((logs / "tpe-seed0" / run).iterdir())) == 1 for run in runs)
    assert len(list((logs / "tpe-seed0").glob("events.out.tfevents.*"))) == 1


def test_logging_a_function_study_does_not_import_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from tunebench import Budget, Float, Space, tune\n"
        f"tune(lambda x: x, Space(x=Float(0, 1)), 'random', Budget(trials=2), "
        f"log_dir={str(tmp_path)!r}, progress=False)\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
    assert (tmp_path / "random-seed0" / "trial-0001").is_dir()


def test_the_cli_writes_keras_trials_curves_and_extends_a_study(tmp_path, capsys):
    from tunebench import load_study
    from tunebench.cli import main

    logs = tmp_path / "logs"

    def run(trials):
        flags = ["--subsample", "200", "--max-epochs", "3", "--no-progress"]
        storage = ["--storage", str(tmp_path / "runs.db"), "--log-dir", str(logs)]
        return main(["tune", "--budget-trials", str(trials), *flags, *storage])

    assert run(2) == 0, capsys.readouterr().err
    assert run(3) == 0
    err = capsys.readouterr().err
    assert (  # the notice as one line of the CLI's, not a Python warning
        "\ntunebench: extending study 'random-seed0' from Budget(trials=2) to Budget(trials=3): "
        in err
    ), err
    assert "StudyNotice" not in err
    study = load_study(tmp_path / "runs.db")
    multiplexer, _, groups = read_back(logs)
    assert len(groups) == len(study.trials) == 3
    for trial in study.trials:
        run = f"random-seed0/trial-{trial.id:04d}"
        curve = scalars(multiplexer, run, "epoch/validation_loss")
        assert len(curve) == trial.epochs_run == len(trial.curve) > 0
        training = scalars(multiplexer, run, "epoch/training_loss")  # Keras measures it
        assert [v for _, v in training] == pytest.approx(trial.train_curve, rel=1e-6)
        assert len(training) == trial.epochs_run
        tags = ("validation_loss", "test_loss")
        final = {tag: scalars(multiplexer, run, tag)[-1][1] for tag in tags}
        assert final == pytest.approx(
            {"validation_loss": trial.loss, "test_loss": trial.test_loss}, rel=1e-6
        )


class WithTestMetric:
    """An objective with a test metric, as ``KerasObjective(test_metrics=...)`` has."""

    max_epochs = None
    test_metrics = ("mae",)  # its names: what the HParams experiment declares

    def evaluate(self, suggestion, state=None):
        x = suggestion.params["x"]
        return Result(loss=(x - 0.3) ** 2, test_loss=x, metrics={"mae": abs(x - 0.3)})


def test_trials_run_by_worker_processes_are_logged_with_their_test_metrics(tmp_path):
    space = Space(x=Float(0, 1))
    study = tune(WithTestMetric(), space, "random", Budget(trials=6), executor="processes",
                 workers=2, log_dir=tmp_path, progress=False)  # fmt: skip
    assert len({t.worker for t in study.trials}) == 2
    _, experiment, groups = read_back(tmp_path)
    names = {m.name.tag for m in experiment.metric_infos}
    assert names == {"validation_loss", "test_loss", "mae"}
    assert len(groups) == 6
    for group in groups:
        trial = study.trials[int(group.sessions[0].name.rsplit("-", 1)[1])]
        metrics = {m.name.tag: m.value for m in group.metric_values}
        expected = {"validation_loss": trial.loss, "test_loss": trial.test_loss, **trial.metrics}
        assert metrics == pytest.approx(expected, rel=1e-6, abs=1e-7)

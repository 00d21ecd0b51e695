"""A study shown in a notebook or a console stays small, however many trials it holds."""

from tunebench import Study, Trial


def _big_study() -> Study:
    trials = [
        Trial(
            id=i,
            params={"n_hidden": i % 4, "learning_rate": 1e-3 * (i + 1)},
            status="failed" if i % 7 == 0 else "ok",
            loss=float("inf") if i % 7 == 0 else 1.0 / (i + 1),
            epochs_run=100,
            curve=tuple(1.0 / (e + 1) for e in range(100)),
            error="ValueError: boom\n  a long traceback" if i % 7 == 0 else None,
        )
        for i in range(200)
    ]
    return Study(name="random-seed0", strategy="random", seed=0, trials=trials, seconds=12.5)


def test_repr_is_one_short_line_with_name_strategy_trials_and_best():
    text = repr(_big_study())
    assert "\n" not in text and len(text) < 200
    assert text.startswith("<Study 'random-seed0': random, seed 0, 200 trials, best 0.005")
    assert "n_hidden=3" in text


def test_rich_display_stays_small():
    html = _big_study()._repr_html_()
    assert len(html) < 1500
    assert "random-seed0" in html and "200 finished" in html and "0.0050" in html


def test_summary_says_one_trial_and_where_the_errors_are():
    study = _big_study()
    study.trials = study.trials[:1]
    text = study.summary(errors_hint="`tunebench show runs.db` lists them")
    assert "1 trial," in text
    assert "1 trial failed or diverged; most common (1 of them): " in text
    assert text.endswith("; `tunebench show runs.db` lists them")

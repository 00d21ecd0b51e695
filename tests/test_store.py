"""The store file: its format marker, foreign files refused untouched, older stores migrated."""

import sqlite3

import pytest

from tunebench import Budget, Float, Space, load_study, tune
from tunebench.store import APPLICATION_ID, SCHEMA_VERSION, Store

SPACE = Space(x=Float(0, 1))


def square(x):
    return (x - 0.3) ** 2


def pragmas(path):
    with sqlite3.connect(path) as db:
        return tuple(
            db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("application_id", "user_version")
        )


def test_a_new_store_is_marked_with_its_format(tmp_path):
    Store(tmp_path / "runs.db").close()
    assert pragmas(tmp_path / "runs.db") == (APPLICATION_ID, SCHEMA_VERSION)


def test_a_foreign_sqlite_file_is_refused_and_left_byte_identical(tmp_path):
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO customers (name) VALUES ('Ada')")
    db.close()
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"shop\.db.*another program \(tables customers"):
        Store(path)
    with pytest.raises(ValueError, match="not a tunebench store"):
        tune(square, SPACE, "random", Budget(trials=2), storage=path, progress=False)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.db"]  # no -wal / -shm left


@pytest.mark.parametrize(
    ("pragma", "message"),
    [
        (f"application_id = {APPLICATION_ID}; PRAGMA user_version = 99", "newer tunebench"),
        ("user_version = 7", "user_version 7"),
        ("application_id = 1234", "application_id 1234"),
    ],
)
def test_another_format_is_refused_untouched(tmp_path, pragma, message):
    path = tmp_path / "runs.db"
    with sqlite3.connect(path) as db:
        db.executescript(f"PRAGMA {pragma};")
    db.close()
    before = path.read_bytes()
    with pytest.raises(ValueError, match=message):
        Store(path)
    assert path.read_bytes() == before


def test_a_text_file_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 100)
    with pytest.raises(ValueError, match="not a tunebench store"):
        Store(path)
    assert path.read_text() == "not a database\n" * 100


def test_a_store_of_the_first_format_opens_resumes_and_is_migrated(tmp_path):
    path = tmp_path / "runs.db"
    tune(square, SPACE, "random", Budget(trials=3), seed=1, storage=path, progress=False)
    with sqlite3.connect(path) as db:  # as the first version wrote it: no leases, no marks
        db.executescript("DROP TABLE leases; PRAGMA application_id = 0; PRAGMA user_version = 0;")
    db.close()
    assert pragmas(path) == (0, 0)
    study = tune(square, SPACE, "random", Budget(trials=6), seed=1, storage=path, progress=False)
    assert [t.id for t in study.trials] == list(range(6))
    assert pragmas(path) == (APPLICATION_ID, SCHEMA_VERSION)
    assert len(load_study(path).trials) == 6

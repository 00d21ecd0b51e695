"""Shared fixtures: small real tasks, so that the suite trains real models quickly."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from tunebench.tasks import Task, california_housing


@pytest.fixture(scope="session")
def housing() -> Task:
    return california_housing()


@pytest.fixture(scope="session")
def small_housing(housing: Task) -> Task:
    """300 training rows of the book task (100 validation, 100 test): real data, fast epochs."""
    return housing.subsample(300, seed=0)


@pytest.fixture
def tensorflow_engine(monkeypatch):
    """The fast path's TensorFlow engine for every model: its trace cache is under test."""
    monkeypatch.setenv("TUNEBENCH_FAST_ENGINE", "tensorflow")


@pytest.fixture(params=["jax", "tensorflow"])
def engine(request, monkeypatch):
    """Each of the fast path's engines in turn (``jax``: JAX's epoch for plain MLPs)."""
    monkeypatch.setenv("TUNEBENCH_FAST_ENGINE", request.param)
    return request.param

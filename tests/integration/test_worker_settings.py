"""RECUR_WORKER_BATCH_SIZE and RECUR_WORKER_INTERVAL: validated settings the worker uses."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from pydantic import ValidationError

from recur import bootstrap
from recur.config import Settings
from recur.worker.loop import BATCH_SIZE, INTERVAL, advance_due_subscriptions


def test_defaults_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECUR_WORKER_BATCH_SIZE", raising=False)
    monkeypatch.delenv("RECUR_WORKER_INTERVAL", raising=False)
    assert (Settings().worker_batch_size, Settings().worker_interval) == (BATCH_SIZE, INTERVAL)
    monkeypatch.setenv("RECUR_WORKER_BATCH_SIZE", " 250 ")
    monkeypatch.setenv("RECUR_WORKER_INTERVAL", "0.25")
    assert (Settings().worker_batch_size, Settings().worker_interval) == (250, 0.25)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECUR_WORKER_BATCH_SIZE", "0"),
        ("RECUR_WORKER_BATCH_SIZE", "2.5"),
        ("RECUR_WORKER_BATCH_SIZE", "many"),
        ("RECUR_WORKER_INTERVAL", "soon"),
        ("RECUR_WORKER_INTERVAL", "0"),
        ("RECUR_WORKER_INTERVAL", "nan"),
        ("RECUR_WORKER_INTERVAL", "inf"),
    ],
)
def test_a_bad_value_is_refused_with_the_variable_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        Settings()
    assert name in str(error.value)


def test_the_worker_is_built_with_them(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'w.sqlite3'}",
        data_dir=tmp_path / "var",
        worker_batch_size=7,
        worker_interval=0.5,
    )
    container = bootstrap.build(settings)
    try:
        worker = bootstrap.make_worker(container)
    finally:
        container.engine.dispose()
    assert worker.interval == 0.5
    claiming = [job for job in worker.jobs if isinstance(job, functools.partial)]
    assert [(job.func, job.keywords) for job in claiming] == [
        (advance_due_subscriptions, {"batch_size": 7})
    ]

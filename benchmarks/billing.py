"""The billing run: subscriptions due now, renewed by the worker's job, renewals per second.

Each renewal is a real one (tests/support/seeding.py): an invoice with a line, a 20 %
exclusive tax and a 10 % forever discount, finalized at once (the account's finalization
delay is 0), charged on the simulated gateway, with its events. BENCH_N (default 100,000)
subscriptions per run; when a short calibration run shows the engine cannot renew that many
within BENCH_BUDGET_S seconds (default 60) the run uses what fits and says so.
"""

from __future__ import annotations

import cProfile
import io
import multiprocessing
import os
import pstats
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from recur import bootstrap
from recur.config import Settings
from recur.storage.migrate import upgrade
from tests.support.seeding import (
    create_seed_account,
    drain,
    drain_process,
    seed_due_subscriptions,
    written_counts,
)

BENCH_N = int(os.environ.get("BENCH_N", "100000"))
BUDGET_S = float(os.environ.get("BENCH_BUDGET_S", "60"))
PROFILE_N = int(os.environ.get("BENCH_PROFILE_N", "2000"))
CALIBRATION_N = 200
# The worker's default batch: what `recur worker` does.
BATCH_SIZE = 500


def _container(url: str, data_dir: str) -> bootstrap.Container:
    container = bootstrap.build(Settings(database_url=url, data_dir=Path(data_dir)))
    upgrade(container.engine)
    return container


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[int]]:
    """A one-element counter of the SQL statements the engine executes inside the block."""
    counter = [0]

    def _count(*_args: Any) -> None:
        counter[0] += 1

    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", _count)


def _report(label: str, renewed: int, seconds: float, counts: dict[str, int]) -> None:
    written = " ".join(f"{name}={value}" for name, value in counts.items())
    print(
        f"  renewals_per_s={renewed / seconds:,.0f}  [{label}: {renewed} renewals in "
        f"{seconds:.1f} s; written: {written}]"
    )


def bench_billing(name: str, url: str, *, two_workers: bool) -> None:
    """Calibrate, seed N due subscriptions, renew them all; print the rate (and with 2 workers)."""
    with tempfile.TemporaryDirectory() as data_dir:
        container = _container(url, data_dir)
        try:
            factory, clock = container.uow_factory, container.clock
            print(f"{name} billing run:")
            account = create_seed_account(factory, clock.now(), "Calibration")
            seed_due_subscriptions(factory, account, CALIBRATION_N, clock.now())
            with count_statements(container.engine) as statements:
                started = time.perf_counter()
                drain(factory, clock, batch_size=BATCH_SIZE)
                rate = CALIBRATION_N / (time.perf_counter() - started)
            print(
                f"  calibration: {rate:,.0f} renewals/s, "
                f"{statements[0] / CALIBRATION_N:.2f} SQL statements per renewal"
            )
            count = min(BENCH_N, max(CALIBRATION_N, int(rate * BUDGET_S)))
            if count < BENCH_N:
                print(
                    f"  BENCH_N={BENCH_N:,} would take ~{BENCH_N / rate / 60:.0f} min at that "
                    f"rate: running N={count:,} (BENCH_BUDGET_S={BUDGET_S:.0f})"
                )
            # Batches small enough that two workers both get a share of a small run.
            batch_size = min(BATCH_SIZE, max(10, count // 20))
            runs = [("1 worker", 1)] + ([("2 worker processes", 2)] if two_workers else [])
            for label, workers in runs:
                account = create_seed_account(factory, clock.now(), label)
                started = time.perf_counter()
                seed_due_subscriptions(factory, account, count, clock.now())
                seeding = time.perf_counter() - started
                print(f"  seeded N={count:,} due subscriptions in {seeding:.1f} s")
                if workers == 1:
                    started = time.perf_counter()
                    renewed = drain(factory, clock, batch_size=batch_size)
                    seconds = time.perf_counter() - started
                else:
                    renewed, seconds = _drain_in_processes(url, workers, batch_size)
                _report(label, renewed, seconds, written_counts(factory, account))
        finally:
            container.engine.dispose()


def _drain_in_processes(url: str, workers: int, batch_size: int) -> tuple[int, float]:
    """Run the billing job in `workers` processes at once; (renewals, wall-clock span)."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(workers)
    results = context.Queue()
    processes = [
        context.Process(target=drain_process, args=(url, batch_size, start, results))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    shares = ", ".join(str(claimed) for _pid, claimed, _s, _f in outcomes)
    print(f"  claimed per process: {shares}")
    renewed = sum(claimed for _pid, claimed, _s, _f in outcomes)
    span = max(f for *_rest, f in outcomes) - min(s for _p, _c, s, _f in outcomes)
    return renewed, span


def profile_billing(url: str) -> None:
    """Profile one billing run of PROFILE_N subscriptions; print where the time goes."""
    with tempfile.TemporaryDirectory() as data_dir:
        container = _container(url, data_dir)
        try:
            factory, clock = container.uow_factory, container.clock
            account = create_seed_account(factory, clock.now(), "Profile")
            seed_due_subscriptions(factory, account, PROFILE_N, clock.now())
            profiler = cProfile.Profile()
            with count_statements(container.engine) as statements:
                started = time.perf_counter()
                profiler.enable()
                renewed = drain(factory, clock, batch_size=BATCH_SIZE)
                profiler.disable()
                seconds = time.perf_counter() - started
        finally:
            container.engine.dispose()
    print(
        f"profile (SQLite, {renewed} renewals, {seconds:.1f} s under cProfile, "
        f"{statements[0] / max(renewed, 1):.2f} SQL statements per renewal):"
    )
    stats = pstats.Stats(profiler)
    total = max(stats.total_tt, 1e-9)
    rows = []
    sql = driver = 0.0
    for (filename, line, function), entry in stats.stats.items():
        _calls, ncalls, tottime, cumtime, _callers = entry
        if "/src/recur/" in filename:
            where = filename.split("/src/", 1)[1]
            rows.append((cumtime, ncalls, f"{where}:{line}({function})"))
        elif filename.endswith("sqlalchemy/engine/base.py") and function == "execute":
            sql += cumtime
        elif function in ("<method 'execute' of 'sqlite3.Cursor' objects>",):
            driver += tottime
    print(
        f"  Connection.execute (building, compiling, running, reading statements): "
        f"{sql / total:.0%} of the run; inside SQLite itself: {driver / total:.0%}"
    )
    print("  recur functions by cumulative time (share of the run, calls per renewal):")
    for cumtime, ncalls, label in sorted(rows, reverse=True)[:25]:
        print(f"    {cumtime / total:6.1%}  {ncalls / max(renewed, 1):6.1f}  {label}")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(12)
    print("  top functions by own time:")
    for line in buffer.getvalue().splitlines():
        if line.strip() and ("{" in line or "/" in line):
            print(f"    {line.strip()}")
    out = os.environ.get("BENCH_PROFILE_OUT")
    if out:
        profiler.dump_stats(out)
        print(f"  full profile written to {out} (python -m pstats {out})")

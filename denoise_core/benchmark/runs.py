"""Run a config: its tasks in this process or on Dask, saved to a results store as they finish.

``run`` executes its tasks (one per image × method) in this process (``workers=0``), on a Dask
``LocalCluster`` of one single-threaded process per core (the default), or on a running Dask
scheduler. With a ``store.Store`` it saves each task's rows as they arrive and resumes an
interrupted run of the same config where it stopped; while it runs, a second process asking for
the same run is refused with one line (``Store.begin``).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import pandas as pd

from ..errors import InvalidParameterError
from .config import load_config
from .images import run_images
from .results import tidy
from .tasks import Task, failed_rows, run_task

if TYPE_CHECKING:
    from .store import Store

RETRIES = 2
"""How many times Dask reruns a task whose worker was lost or which raised outside the method."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called with the number of finished image × method tasks."""

Waiting = Callable[[list[Task]], None]
"""``waiting(tasks)``: called with the tasks not finished yet, in the order they are handed out."""


def run(config: str | Path | Mapping[str, Any], *, workers: int | None = None, scheduler: str | None = None,
        store: Store | None = None, progress: Progress | None = None,
        waiting: Waiting | None = None) -> pd.DataFrame:
    """Run a benchmark config and return its tidy table (columns ``COLUMNS``).

    Parameters
    ----------
    config : YAML path or mapping
        See ``load_config``.
    workers : int or None
        0: in this process. N: a Dask ``LocalCluster`` of N single-threaded worker processes.
        None: one worker process per core. Ignored when ``scheduler`` is given.
    scheduler : str or None
        Address of a running Dask scheduler (``tcp://host:8786``); its workers must be able to
        import ``denoise_core``.
    store : Store or None
        Where each finished task's rows are saved at once. An incomplete run of the same config in
        the store is resumed: its finished tasks are not run again.
    progress : callable or None
        ``progress(done, total)`` after each finished image × method task.
    waiting : callable or None
        ``waiting(tasks)`` with the tasks left, before the first and after each finished task (just before
        ``progress``).

    Returns
    -------
    pandas.DataFrame
        Sorted by image, noise, level, seed, method and metric; ``attrs["run_id"]`` is the store's
        run id (None without a store). A method that fails on a case leaves NaN values and the
        error in that case's rows; the run goes on.
    """
    config = load_config(config)
    images = run_images(config)
    tasks = [Task(index, group, name, method["label"]) for index, (group, name, _) in enumerate(images)
             for method in config["methods"]]
    run_id = store.begin(config, engine=engine_name(workers, scheduler)) if store else None
    try:
        rows = _run_tasks(tasks, images, config, workers, scheduler, store, run_id, (progress, waiting))
    finally:
        if store:
            store.release(run_id)  # a no-op once finished; else the next run resumes at once
    table = store.results(run_id) if store else tidy(rows)
    table.attrs["run_id"] = run_id
    return table


def _run_tasks(tasks: list[Task], images: list, config: dict, workers: int | None, scheduler: str | None,
               store: Store | None, run_id: int | None,
               report: tuple[Progress | None, Waiting | None]) -> list[dict]:
    done = store.done(run_id) if store else set()
    pending = [task for task in tasks if task.key not in done]
    rows, left = [], list(pending)
    _report(report, left, len(tasks))
    for task, task_rows in _execute(pending, images, config, workers, scheduler):
        if store:
            store.add(run_id, task_rows)
        rows.extend(task_rows)
        left.remove(task)
        _report(report, left, len(tasks))
    if store:
        store.finish(run_id)
    return rows


def engine_name(workers: int | None, scheduler: str | None) -> str:
    """How ``run`` executes with these arguments, in words (recorded with each run)."""
    if scheduler:
        return f"dask scheduler {scheduler}"
    if workers == 0:
        return "in process"
    return f"dask LocalCluster, {workers or os.cpu_count()} processes × 1 thread"


def _report(report: tuple[Progress | None, Waiting | None], left: list[Task], total: int) -> None:
    progress, waiting = report
    if waiting is not None:
        waiting(list(left))
    if progress is not None:
        progress(total - len(left), total)


def _execute(tasks: list[Task], images: list, config: dict, workers: int | None,
             scheduler: str | None) -> Iterator[tuple[Task, list[dict]]]:
    if workers is not None and workers < 0:
        raise InvalidParameterError(f"workers = {workers}: expected 0 (in process) or more")
    methods = {method["label"]: method for method in config["methods"]}
    if not tasks:
        return
    if workers == 0 and not scheduler:
        for task in tasks:
            yield task, run_task(images[task.index][2], task, methods[task.method], config)
        return
    from distributed import KilledWorker, as_completed
    with _client(workers, scheduler) as client:
        futures = {client.submit(run_task, images[task.index][2], task, methods[task.method], config, one_thread=True,
                                 pure=False, retries=RETRIES): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                yield task, future.result()
            except KilledWorker as error:
                yield task, failed_rows(task, methods[task.method], config, error)


@contextmanager
def _client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster
    if scheduler:
        with Client(scheduler, timeout="10s") as client:
            yield client
        return
    with LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client

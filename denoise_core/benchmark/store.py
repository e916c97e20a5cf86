"""The results store: every benchmark run and its tidy rows in one embedded SQLite file.

``runs`` holds one row per run: its config, the versions of the key packages, the sha256 of the
learned weights it used, the machine and engine, start and finish times and its status
(``incomplete`` until every task has finished). ``results`` holds the run's tidy rows
(``benchmark.COLUMNS``), written one task at a time in a transaction, so a run killed halfway
leaves a readable store with its finished rows kept. A UNIQUE index on everything that makes a row
distinct (run, group, image, noise and its parameters, level, seed, method and its parameters,
metric) keeps any row from being stored twice. ``report`` exports a run.

The classroom keeps its rounds in the same file: ``rounds`` (a vote round or a challenge: its code and
config), ``votes`` (one row per vote: round, anonymous voter, pair, the two methods as shown, choice,
time) and ``submissions`` (a challenge entry and its score). Each vote and submission carries a key
that is UNIQUE, so one resent is stored once; every write is one short transaction, and the file is in
WAL mode, so many sessions voting at once wait their turn (up to 30 s) instead of failing.

One process at a time writes an incomplete run: ``begin`` claims it (owner host, pid and a token,
plus a heartbeat refreshed every ``HEARTBEAT_SECONDS`` by a background thread) and a second
process that wants the same run is refused with one line. A claim is stale, and is taken over,
when its heartbeat is older than ``LEASE_SECONDS`` or when its owner ran on this host and that
pid no longer exists (a killed run resumes at once).

The default file is ``$DENOISE_WORKBENCH_DB``, else ``$XDG_DATA_HOME/denoise-workbench/results.sqlite``
(``~/.local/share`` when ``XDG_DATA_HOME`` is unset).
"""
from __future__ import annotations

import json
import os
import platform
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Mapping

import pandas as pd

from .. import registry
from ..errors import DenoiseError, one_line
from ..paths import results_db
from .config import config_hash
from .results import COLUMNS, paper_table, tidy

KEY_PACKAGES = ("numpy", "scipy", "scikit-image", "opencv-python-headless", "bm3d", "PyWavelets", "torch",
                "pandas", "dask", "distributed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    versions TEXT NOT NULL,
    weights TEXT NOT NULL,
    machine TEXT NOT NULL,
    engine TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL CHECK (status IN ('incomplete', 'complete')),
    owner TEXT,
    heartbeat REAL
);
CREATE TABLE IF NOT EXISTS results (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    "group" TEXT NOT NULL, image TEXT NOT NULL, seed INTEGER NOT NULL, noise TEXT NOT NULL,
    level REAL NOT NULL, noise_params TEXT NOT NULL, method TEXT NOT NULL, params TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL, seconds REAL, error TEXT
);
CREATE INDEX IF NOT EXISTS results_run ON results(run_id);
"""
_CLASSROOM_SCHEMA = """
CREATE TABLE IF NOT EXISTS rounds (
    code TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('vote', 'challenge')), config TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    round TEXT NOT NULL REFERENCES rounds(code) ON DELETE CASCADE, voter TEXT NOT NULL, pair INTEGER NOT NULL,
    condition INTEGER NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL,
    choice TEXT NOT NULL CHECK (choice IN ('a', 'b', 'same')), time TEXT NOT NULL, UNIQUE (round, voter, pair)
);
CREATE TABLE IF NOT EXISTS submissions (
    round TEXT NOT NULL REFERENCES rounds(code) ON DELETE CASCADE, student TEXT NOT NULL, key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL, method TEXT NOT NULL, params TEXT NOT NULL, psnr REAL, ssim REAL, time TEXT NOT NULL
);
"""
_QUOTED = ", ".join(f'"{column}"' for column in COLUMNS)
ROW_KEY = ("run_id", "group", "image", "noise", "noise_params", "level", "seed", "method", "params", "metric")
"""What makes a stored row distinct: no two rows of the store share all of these."""
_KEY = ", ".join(f'"{column}"' for column in ROW_KEY)
_UNIQUE = f"CREATE UNIQUE INDEX IF NOT EXISTS results_key ON results({_KEY})"
_DEDUPLICATE = f"DELETE FROM results WHERE rowid NOT IN (SELECT MIN(rowid) FROM results GROUP BY {_KEY})"
LEASE_SECONDS = 60.0
"""A claim whose heartbeat is older than this is stale (its process is gone or hung)."""
HEARTBEAT_SECONDS = 10.0


class StoreError(DenoiseError):
    """A results file that is not a results database, or a run id that is not in it."""


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape the numbers (None: not installed)."""
    versions = {"python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine() -> dict[str, Any]:
    """This computer in a few words: host, operating system, processor and core count."""
    return {"host": platform.node(), "system": platform.platform(), "processor": platform.machine(),
            "cores": os.cpu_count()}


def learned_weights(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """sha256 of the weights file, architecture and parameter count of each learned method of a
    loaded config, by method label (the hash is the one checked when the weights load)."""
    learned = [m for m in config["methods"] if registry.get(m["name"], "denoiser").family == "learned"]
    if not learned:
        return {}
    from ..models import ARCHITECTURES, parameter_count
    from ..weights import get_entry
    found = {}
    for method in learned:
        entry = get_entry(method["name"])
        found[method["label"]] = {"sha256": entry.sha256, "arch": entry.arch,
                                  "parameters": parameter_count(ARCHITECTURES[entry.arch](**entry.config))}
    return found


class Store:
    """Benchmark runs and their rows in the SQLite file at ``path`` (``paths.results_db()`` if None).

    Raises
    ------
    StoreError
        The file exists but is not a results database.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else results_db()
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder; give the path of a results file, e.g. "
                             f"{self.path / 'results.sqlite'}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"{self.path}: cannot create its folder ({error.strerror or error})") from None
        self._claims: dict[int, tuple[str, threading.Event]] = {}
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one process creates and migrates at a time; the others wait their turn
            for statement in filter(str.strip, (_SCHEMA + _CLASSROOM_SCHEMA).split(";")):
                db.execute(statement)
            _migrate(db)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode = WAL")  # outside any transaction, once the file exists

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: cannot open the results database ({error})") from None
        try:
            db.execute("PRAGMA foreign_keys = ON")
            with db:
                yield db
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: not a readable results database ({error})") from None
        finally:
            db.close()

    def begin(self, config: Mapping[str, Any], *, engine: str) -> int:
        """Claim the run to write ``config``'s rows to: an incomplete run of the same config and
        package versions (resumed), else a new run. ``finish`` or ``release`` ends the claim.

        Raises
        ------
        StoreError
            Another live process holds that run (see the module's note on stale claims).
        """
        digest, versions = config_hash(config), json.dumps(package_versions(), sort_keys=True)
        owner = json.dumps({"host": platform.node(), "pid": os.getpid(), "token": uuid.uuid4().hex})
        facts = (json.dumps(learned_weights(config)), json.dumps(machine()))  # before the lock: may load torch
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # no other process reads or claims between the lookup and the claim
            found = db.execute("SELECT id, owner, heartbeat FROM runs WHERE config_hash = ? AND versions = ? "
                               "AND status = 'incomplete' ORDER BY id DESC LIMIT 1", (digest, versions)).fetchone()
            if found and not _stale(found[1], found[2]):
                raise StoreError(_held_message(self.path, *found))
            if found:
                run_id = found[0]
                db.execute("UPDATE runs SET owner = ?, heartbeat = ? WHERE id = ?", (owner, time.time(), run_id))
            else:
                run_id = db.execute(
                    "INSERT INTO runs (name, config, config_hash, versions, weights, machine, engine, started, status, "
                    "owner, heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'incomplete', ?, ?)",
                    (config["name"], json.dumps(config, sort_keys=True), digest, versions, *facts, engine, _now(),
                     owner, time.time())).lastrowid
        self._hold(run_id, owner)
        return run_id

    def _hold(self, run_id: int, owner: str) -> None:
        stop = threading.Event()
        self._claims[run_id] = owner, stop
        threading.Thread(target=self._beat, args=(run_id, owner, stop), daemon=True, name=f"run-{run_id}-heartbeat").start()

    def _beat(self, run_id: int, owner: str, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                with self._connect() as db:
                    self._refresh(db, run_id, owner)
            except StoreError:  # taken over or deleted: the next ``add`` says so
                return

    def _refresh(self, db: sqlite3.Connection, run_id: int, owner: str) -> None:
        """Renew this process's claim on ``run_id``, or raise if it lost it."""
        if not db.execute("UPDATE runs SET heartbeat = ? WHERE id = ? AND owner = ?",
                          (time.time(), run_id, owner)).rowcount:
            raise StoreError(f"{self.path}: run {run_id} was taken over by another process or deleted; "
                             "this process stopped writing to it")

    def release(self, run_id: int) -> None:
        """End this process's claim on ``run_id`` (its finished rows stay; the next ``begin`` resumes it)."""
        owner, stop = self._claims.pop(run_id, (None, None))
        if owner is None:
            return
        stop.set()
        with self._connect() as db:
            db.execute("UPDATE runs SET owner = NULL, heartbeat = NULL WHERE id = ? AND owner = ?", (run_id, owner))

    def done(self, run_id: int) -> set[tuple[str, str, str]]:
        """``(group, image, method)`` of every task whose rows are stored."""
        with self._connect() as db:
            return set(db.execute('SELECT DISTINCT "group", image, method FROM results WHERE run_id = ?', (run_id,)))

    def add(self, run_id: int, rows: list[dict]) -> None:
        """Store one task's rows, all or none, in the run this process claimed; a row already stored is kept."""
        values = [(run_id, *(row[column] for column in COLUMNS)) for row in rows]
        with self._connect() as db:
            self._refresh(db, run_id, self._owner(run_id))
            db.executemany(f"INSERT INTO results (run_id, {_QUOTED}) VALUES (?{', ?' * len(COLUMNS)}) "
                           "ON CONFLICT DO NOTHING", values)

    def _owner(self, run_id: int) -> str:
        if run_id not in self._claims:
            raise StoreError(f"{self.path}: run {run_id} is not claimed by this process (call begin first)")
        return self._claims[run_id][0]

    def finish(self, run_id: int) -> None:
        """Mark a run complete and end the claim."""
        with self._connect() as db:
            self._refresh(db, run_id, self._owner(run_id))
            db.execute("UPDATE runs SET status = 'complete', finished = ? WHERE id = ?", (_now(), run_id))
        self.release(run_id)

    def complete_run(self, config: Mapping[str, Any]) -> int | None:
        """The newest complete run of ``config`` (a loaded config) under this machine's package versions; None if
        there is none: its rows answer the same config again without running it."""
        digest, versions = config_hash(config), json.dumps(package_versions(), sort_keys=True)
        with self._connect() as db:
            found = db.execute("SELECT id FROM runs WHERE config_hash = ? AND versions = ? AND status = 'complete' "
                               "ORDER BY id DESC LIMIT 1", (digest, versions)).fetchone()
        return found[0] if found else None

    def runs(self) -> pd.DataFrame:
        """One row per run, oldest first: id, name, status, started, finished, engine and row count."""
        with self._connect() as db:
            return pd.read_sql_query(
                "SELECT r.id, r.name, r.status, r.started, r.finished, r.engine, COUNT(x.run_id) AS rows "
                "FROM runs r LEFT JOIN results x ON x.run_id = r.id GROUP BY r.id ORDER BY r.id", db)

    def info(self, run_id: int) -> dict[str, Any]:
        """Everything recorded about a run but its rows: config, versions, weights, machine, times, status."""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"no run {run_id} in {self.path} (list them: python -m denoise_core runs list)")
        info = dict(row)
        for key in ("config", "versions", "weights", "machine"):
            info[key] = json.loads(info[key])
        info["owner"] = json.loads(info["owner"]) if info["owner"] else None
        return info

    def results(self, run_id: int) -> pd.DataFrame:
        """The tidy table of a run (``benchmark.COLUMNS``), in canonical order."""
        self.info(run_id)
        with self._connect() as db:
            rows = db.execute(f"SELECT {_QUOTED} FROM results WHERE run_id = ?", (run_id,)).fetchall()
        return tidy([dict(zip(COLUMNS, row)) for row in rows])

    def delete(self, run_id: int) -> None:
        """Remove a run and its rows."""
        self.info(run_id)
        with self._connect() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def compare(self, first: int, second: int, metric: str = "psnr") -> pd.DataFrame:
        """Mean ``metric`` per method, noise and level of two runs: columns ``first``, ``second`` and
        ``difference`` (second minus first); a method or level missing from one run is NaN there."""
        tables = [paper_table(self.results(run_id), metric).stack(["noise", "level"], future_stack=True)
                  for run_id in (first, second)]
        both = pd.concat(tables, axis=1, keys=["first", "second"])
        both["difference"] = both["second"] - both["first"]
        return both

    def open_round(self, code: str, kind: str, config: Mapping[str, Any]) -> None:
        """Store a new round (``kind`` "vote" or "challenge") under its class ``code``.

        Raises
        ------
        StoreError
            ``code`` is taken.
        """
        with self._connect() as db:
            try:
                db.execute("INSERT INTO rounds (code, kind, config, created) VALUES (?, ?, ?, ?)",
                           (code, kind, json.dumps(config, sort_keys=True), _now()))
            except sqlite3.IntegrityError:
                raise StoreError(f"class code {code} is taken; open the round again for a new code") from None

    def round(self, code: str) -> tuple[str, dict[str, Any]]:
        """``(kind, config)`` of the round with class ``code``.

        Raises
        ------
        StoreError
            No round has that code.
        """
        with self._connect() as db:
            found = db.execute("SELECT kind, config FROM rounds WHERE code = ?", (code,)).fetchone()
        if found is None:
            raise StoreError(f"no round with class code '{one_line(code, 20)}': check the code with your lecturer")
        return found[0], json.loads(found[1])

    def rounds(self) -> pd.DataFrame:
        """One row per round, newest first: code, kind, created, votes and submissions."""
        with self._connect() as db:
            return pd.read_sql_query(
                "SELECT r.code, r.kind, r.created, (SELECT COUNT(*) FROM votes v WHERE v.round = r.code) AS votes, "
                "(SELECT COUNT(*) FROM submissions s WHERE s.round = r.code) AS submissions "
                "FROM rounds r ORDER BY r.created DESC, r.rowid DESC", db)

    def add_vote(self, code: str, voter: str, pair: int, condition: int, a: str, b: str, choice: str) -> bool:
        """Store one vote; False when this voter's vote on ``pair`` of round ``code`` is stored already."""
        with self._connect() as db:
            return db.execute("INSERT INTO votes (round, voter, pair, condition, a, b, choice, time) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                              (code, voter, pair, condition, a, b, choice, _now())).rowcount == 1

    def votes(self, code: str) -> pd.DataFrame:
        """Every vote of round ``code``: voter, pair, condition, a, b, choice, time."""
        with self._connect() as db:
            return pd.read_sql_query("SELECT voter, pair, condition, a, b, choice, time FROM votes WHERE round = ? "
                                     "ORDER BY rowid", db, params=(code,))

    def add_submission(self, code: str, student: str, key: str, entry: Mapping[str, Any]) -> bool:
        """Store a challenge submission (``entry``: name, method, params, psnr, ssim); False when ``key`` is
        stored already (a resent submission)."""
        with self._connect() as db:
            return db.execute("INSERT INTO submissions (round, student, key, name, method, params, psnr, ssim, time) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                              (code, student, key, entry["name"], entry["method"],
                               json.dumps(entry["params"], sort_keys=True), entry["psnr"], entry["ssim"],
                               _now())).rowcount == 1

    def submissions(self, code: str) -> pd.DataFrame:
        """Every submission of round ``code``: student, name, method, params, psnr, ssim, time."""
        with self._connect() as db:
            return pd.read_sql_query("SELECT student, name, method, params, psnr, ssim, time FROM submissions "
                                     "WHERE round = ? ORDER BY rowid", db, params=(code,))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a store written by an older version up to this schema (its rows stay readable)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    for column, kind in (("owner", "TEXT"), ("heartbeat", "REAL")):
        if column not in columns:
            db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'results_key'").fetchone():
        db.execute(_DEDUPLICATE)  # rows an older version stored twice
        db.execute(_UNIQUE)


def _stale(owner: str | None, heartbeat: float | None) -> bool:
    """Whether a claim no longer holds: none, a heartbeat older than the lease, or a dead pid on this host."""
    if not owner or heartbeat is None or time.time() - heartbeat > LEASE_SECONDS:
        return True
    holder = json.loads(owner)
    return holder["host"] == platform.node() and not _alive(holder["pid"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _held_message(path: Path, run_id: int, owner: str, heartbeat: float) -> str:
    holder = json.loads(owner)
    return (f"{path}: run {run_id} of this config is being written by process {holder['pid']} on {holder['host']} "
            f"(heartbeat {time.time() - heartbeat:.0f} s ago); wait for it to finish, or stop it and run again to "
            "resume")

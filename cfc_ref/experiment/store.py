"""A run's results store: one SQLite database, ``<output>/results.sqlite`` (spec E-9).

    with RunStore.open(Path("runs/x")) as store:
        store.record(units, failures)              # one transaction: every unit of a job, or none
        done = store.done()                        # {(setting, image)} of finished, verified units
        units = store.units_of("max_17-8bit-qp32") # in image order

One writer: the process that runs the sweep (the local engine's parent, the Ray engine's driver). Workers never
write here. WAL journal: a killed writer loses only the transaction it had not committed; readers (``sqlite3
runs/x/results.sqlite``) never block it. The schema is normative (E-9.2) and versioned (``PRAGMA user_version`` and
``meta.schema``); a store of another version, or a directory of an older cfc-ref, is refused with the reason.
"""

from __future__ import annotations

import functools
import lzma
import os
import sqlite3
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import astuple
from pathlib import Path
from typing import TypeVar

from cfc_ref.detector.detect import RECORD, ImageDetections
from cfc_ref.errors import CfcError
from cfc_ref.experiment.units import Unit, UnitBits, features_columns, features_of
from cfc_ref.metrics.results import RESULT_COLUMNS, ResultRow

T = TypeVar("T")
STORE_NAME = "results.sqlite"
STORE_SCHEMA = "cfc-ref-run/4"
STORE_VERSION = 4  # 4: setting_seconds, meta.complexity (E-15.3, E-15.4); 3: quantizer, clipped
SIDE_FILES = (f"{STORE_NAME}-wal", f"{STORE_NAME}-shm")  # SQLite's log and index beside the store
STRICT = " STRICT" if sqlite3.sqlite_version_info >= (3, 37) else ""  # types enforced on write (E-9.2)


class StoreError(CfcError):
    """The results store cannot be used: another schema, an older run directory, a damaged database (E-9.1)."""


# The unit columns, in the order every statement writes and reads them (E-9.2)
UNIT_COLUMNS = ("setting", "image", "payload_bytes", "side_info_bytes", "container_bytes", "encoder", "decoders",
                "samples", "uncoded", "features", "feature_digests", "clipped", "width", "height", "block", "first",
                "detections", "digest")

SCHEMA_SQL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL){strict};
CREATE TABLE settings (position INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
    split TEXT NOT NULL, bit_depth INTEGER NOT NULL, qp INTEGER, upload TEXT NOT NULL, jpeg_quality INTEGER,
    accounting TEXT NOT NULL, quantizer TEXT NOT NULL){strict};
CREATE TABLE images (position INTEGER PRIMARY KEY, image TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL){strict};
CREATE TABLE blocks (id INTEGER PRIMARY KEY, records BLOB NOT NULL){strict};
CREATE TABLE units (id INTEGER PRIMARY KEY, setting TEXT NOT NULL, image TEXT NOT NULL,
    payload_bytes INTEGER NOT NULL, side_info_bytes INTEGER NOT NULL, container_bytes INTEGER NOT NULL,
    encoder TEXT NOT NULL, decoders TEXT NOT NULL, samples INTEGER NOT NULL, uncoded TEXT NOT NULL,
    features TEXT NOT NULL, feature_digests BLOB NOT NULL, clipped INTEGER NOT NULL, width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    block INTEGER NOT NULL REFERENCES blocks (id), first INTEGER NOT NULL, detections INTEGER NOT NULL,
    digest BLOB NOT NULL, UNIQUE (setting, image)){strict};
CREATE INDEX units_by_block ON units (block);
CREATE TABLE failures (setting TEXT NOT NULL, image TEXT NOT NULL, error TEXT NOT NULL,
    PRIMARY KEY (setting, image)) WITHOUT ROWID{strict_comma};
CREATE TABLE results (position INTEGER PRIMARY KEY, setting TEXT NOT NULL, kind TEXT NOT NULL, split TEXT NOT NULL,
    bit_depth INTEGER NOT NULL, quality TEXT NOT NULL, qp INTEGER, jpeg_quality INTEGER, images INTEGER NOT NULL,
    kbpi REAL NOT NULL, kbpi_std REAL NOT NULL, container_kbpi REAL NOT NULL, map_voc07 REAL NOT NULL,
    map_voc07_std REAL NOT NULL, map_all REAL NOT NULL, encoder TEXT NOT NULL, decoders TEXT NOT NULL,
    accounting TEXT NOT NULL, samples INTEGER NOT NULL, uncoded TEXT NOT NULL, quantizer TEXT NOT NULL,
    clipped INTEGER NOT NULL){strict};
CREATE TABLE sweeps (id INTEGER PRIMARY KEY, started TEXT NOT NULL, engine TEXT NOT NULL, workers INTEGER NOT NULL,
    units INTEGER NOT NULL DEFAULT 0, encodes INTEGER NOT NULL DEFAULT 0, wall REAL NOT NULL DEFAULT 0,
    worker_cpu REAL NOT NULL DEFAULT 0, complete INTEGER NOT NULL DEFAULT 0){strict};
CREATE TABLE timings (sweep INTEGER NOT NULL, stage TEXT NOT NULL, seconds REAL NOT NULL, cpu REAL NOT NULL,
    PRIMARY KEY (sweep, stage)) WITHOUT ROWID{strict_comma};
CREATE TABLE setting_seconds (sweep INTEGER NOT NULL, setting TEXT NOT NULL, stage TEXT NOT NULL,
    seconds REAL NOT NULL, PRIMARY KEY (sweep, setting, stage)) WITHOUT ROWID{strict_comma};
""".format(strict=STRICT, strict_comma=STRICT.replace(" ", ", ") if STRICT else "")
TABLES = ("meta", "settings", "images", "blocks", "units", "failures", "results", "sweeps", "timings",
          "setting_seconds")
# the Python type of every unit column as the store holds it, checked when a unit is read (E-9.4)
_UNIT_TYPES = (str, str, int, int, int, str, str, int, str, str, bytes, int, int, int, int, int, int, bytes)

OLD_LAYOUT = ("units", "fingerprint.json")  # what cfc-ref before the store kept in a run directory


def _no_link(path: Path) -> None:
    """E-9.1: nothing is written through a symbolic link a user (or an attacker) planted."""
    if path.is_symlink():
        raise StoreError(f"{path} is a symbolic link; cfc-ref writes no file through a link (remove it)")


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """A RunStore method whose SQLite errors are StoreErrors naming the store (E-9.1)."""
    @functools.wraps(method)
    def guarded(self: RunStore, *args: object, **kwargs: object) -> T:
        with _errors(self.path):
            return method(self, *args, **kwargs)

    return guarded


def _regular_or_absent(path: Path) -> None:
    """E-9.1: the store, its log and its index are regular files or absent (a directory or FIFO there is refused)."""
    if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
        raise StoreError(f"{path} is not a regular file; the results store keeps its data there (remove it)")


def _check_schema(connection: sqlite3.Connection, path: Path, version: int) -> None:
    """E-9.1: a store of this schema with every table, or a StoreError saying what it is."""
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    schema = (connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() if "meta" in tables
              else None)
    if version != STORE_VERSION or not schema or schema[0] != STORE_SCHEMA:
        found = f"{schema[0]!r} (user_version {version})" if schema else f"user_version {version}"
        raise StoreError(f"{path}: a results store of schema {found}; this cfc-ref reads {STORE_SCHEMA!r} "
                         f"(user_version {STORE_VERSION}); choose another --output, or remove {path.parent}")
    missing = [name for name in TABLES if name not in tables]
    if missing:
        raise StoreError(f"{path}: a damaged results store (table {', '.join(missing)} missing); choose another "
                         f"--output, or remove {path.parent}")


@contextmanager
def _errors(path: Path) -> Iterator[None]:
    """Every SQLite error as one StoreError naming the store (E-9.1): a full disk (SQLITE_FULL) says so."""
    try:
        yield
    except sqlite3.DatabaseError as err:
        text = str(err)
        if "full" in text or "No space" in text:
            raise StoreError(f"{path}: no space left on the device (SQLite: {text}); free some and run again "
                             "to resume") from None
        if "readonly" in text or "read-only" in text:
            raise StoreError(f"{path}: cannot write the results store ({text}): check the directory's and its "
                             f"files' permissions ({', '.join(SIDE_FILES)} included)") from None
        raise StoreError(f"{path}: not a usable results store ({text})") from None


class RunStore:
    """The results store of one run directory (E-9). Use :meth:`open`; close it (or use ``with``)."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection, self.path = connection, path
        self.run_id = self.meta("run_id") or ""

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, output: Path, create: bool = True) -> RunStore:
        output = Path(output)
        path = output / STORE_NAME
        for name in (STORE_NAME, *SIDE_FILES):
            _no_link(output / name)
            _regular_or_absent(output / name)
        if not path.exists():
            old = [name for name in OLD_LAYOUT if (output / name).exists()]
            if old:
                raise StoreError(f"{output} holds a run of an older cfc-ref ({' and '.join(old)}; one JSON file per "
                                 f"unit), which this cfc-ref cannot resume: it keeps a run in {STORE_NAME} (spec "
                                 f"E-9). Choose another --output, or remove {output}")
            if not create:
                raise StoreError(f"{path} does not exist (not a run directory, or the run has not started)")
        with _errors(path):
            connection = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and not connection.execute("SELECT 1 FROM sqlite_master").fetchone():
                with _transaction(connection, path):
                    for statement in SCHEMA_SQL.split(";"):
                        if statement.strip():
                            connection.execute(statement)
                    connection.execute("INSERT INTO meta VALUES ('schema', ?), ('run_id', ?)",
                                       (STORE_SCHEMA, uuid.uuid4().hex))
                    connection.execute(f"PRAGMA user_version = {STORE_VERSION}")
            else:
                _check_schema(connection, path, version)
        return cls(connection, path)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ meta, settings, images

    @_guarded
    def meta(self, key: str) -> str | None:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @_guarded
    def set_meta(self, **values: str) -> None:
        with _transaction(self.connection, self.path):
            self.connection.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    @_guarded
    def set_settings(self, settings: Iterable[object]) -> None:
        """The sweep's settings in order (a ``Setting`` per row); replaced as a whole."""
        rows = [(i, s.key, s.kind, s.split, s.bit_depth, s.qp, s.upload, s.jpeg_quality,  # type: ignore[attr-defined]
                 s.accounting, s.quantizer) for i, s in enumerate(settings)]  # type: ignore[attr-defined]
        with _transaction(self.connection, self.path):
            self.connection.execute("DELETE FROM settings")
            self.connection.executemany("INSERT INTO settings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    @_guarded
    def image_digests(self) -> dict[str, str]:
        return dict(self.connection.execute("SELECT image, sha256 FROM images ORDER BY position"))

    @_guarded
    def set_images(self, digests: dict[str, str]) -> None:
        """The sweep's images in order with the SHA-256 of their files (E-2.3); replaced as a whole."""
        with _transaction(self.connection, self.path):
            self.connection.execute("DELETE FROM images")
            self.connection.executemany("INSERT INTO images VALUES (?, ?, ?)",
                                        [(i, image, digest) for i, (image, digest) in enumerate(digests.items())])

    @_guarded
    def images_with_units(self) -> set[str]:
        return {row[0] for row in self.connection.execute("SELECT DISTINCT image FROM units")}

    # ------------------------------------------------------------------ units

    @_guarded
    def record(self, units: Iterable[Unit], failures: Iterable[tuple[str, str, str]] = (), sweep: int = 0,
               seconds: dict[str, dict[str, float]] | None = None) -> int:
        """Units (and failed units: setting, image, message) of one job, in one transaction (E-4.1), with the seconds
        its stages spent on each setting, added to the sweep's (E-15.3). Their detections go into one block (E-9.3):
        the units of one image compress far better together."""
        units = list(units)
        failed = list(failures)
        parts = [u.detections.to_bytes() for u in units]
        with _transaction(self.connection, self.path):
            block = None
            if units:
                block = self.connection.execute("INSERT INTO blocks (records) VALUES (?)",
                                                (lzma.compress(b"".join(parts), preset=0),)).lastrowid
            first, rows = 0, []
            for unit, records in zip(units, parts, strict=True):
                rows.append((unit.setting, unit.image, unit.bits.payload_bytes, unit.bits.side_info_bytes,
                             unit.bits.container_bytes, unit.encoder, "+".join(unit.decoders), unit.samples,
                             "+".join(unit.uncoded), *features_columns(unit.features), unit.clipped,
                             unit.detections.width,
                             unit.detections.height, block, first // RECORD.itemsize, len(unit.detections),
                             unit.digest(self.run_id, records)))
                first += len(records)
            self.connection.executemany("DELETE FROM units WHERE setting = ? AND image = ?",
                                        [(r[0], r[1]) for r in rows])
            self.connection.executemany(
                f"INSERT INTO units ({', '.join(UNIT_COLUMNS)}) VALUES ({', '.join('?' * len(UNIT_COLUMNS))})", rows)
            self.connection.executemany("DELETE FROM failures WHERE setting = ? AND image = ?",
                                        [(r[0], r[1]) for r in rows])
            self.connection.executemany("INSERT OR REPLACE INTO failures VALUES (?, ?, ?)", failed)
            self.connection.executemany(
                "INSERT INTO setting_seconds VALUES (?, ?, ?, ?) ON CONFLICT (sweep, setting, stage) DO UPDATE SET "
                "seconds = seconds + excluded.seconds",
                [(sweep, key, name, value) for key, stages in sorted((seconds or {}).items())
                 for name, value in sorted(stages.items())])
            self._drop_orphan_blocks()
        return len(rows)

    def _drop_orphan_blocks(self) -> None:
        self.connection.execute("DELETE FROM blocks WHERE id NOT IN (SELECT DISTINCT block FROM units)")

    def _scan(self, where: str = "", args: tuple = ()) -> Iterator[tuple[int, Unit | None, bytes, bytes]]:
        """(row id, unit, its record bytes, its recorded digest), each block decompressed once. A row whose values
        are not of their columns' types gives no unit (None), and a block that does not decompress gives its units
        empty records: either way the unit is damaged (E-9.4)."""
        cached: tuple[object, bytes] | None = None
        for row in self.connection.execute(
                f"SELECT id, {', '.join(UNIT_COLUMNS)} FROM units {where} ORDER BY block, first", args).fetchall():
            ident, values = row[0], row[1:]
            if not all(type(v) is kind for v, kind in zip(values, _UNIT_TYPES, strict=True)) or min(
                    v for v, kind in zip(values, _UNIT_TYPES, strict=True) if kind is int) < 0:
                yield ident, None, b"", b""
                continue
            (setting, image, payload, side, container, encoder, decoders, samples, uncoded, names, digests, clipped,
             width, height, block, first, count, digest) = values
            features = features_of(names, digests)
            if features is None:
                yield ident, None, b"", b""
                continue
            if cached is None or cached[0] != block:
                blob = self.connection.execute("SELECT records FROM blocks WHERE id = ?", (block,)).fetchone()
                try:
                    cached = (block, lzma.decompress(blob[0]) if blob else b"")
                except (lzma.LZMAError, TypeError):
                    cached = (block, b"")
            records = cached[1][first * RECORD.itemsize:(first + count) * RECORD.itemsize]
            if len(records) != count * RECORD.itemsize:
                records = b""
            unit = Unit(image, setting, UnitBits(payload, side, container), encoder,
                        tuple(decoders.split("+")) if decoders else (),
                        ImageDetections.from_bytes(records, width, height), samples,
                        tuple(uncoded.split("+")) if uncoded else (), features, clipped)
            yield ident, unit, records, digest

    def _intact(self, unit: Unit | None, records: bytes, digest: bytes) -> bool:
        return unit is not None and unit.digest(self.run_id, records) == digest

    @_guarded
    def verify(self) -> list[tuple[str, str]]:
        """E-9.4: remove every unit that is damaged — its digest does not match (edited, damaged, copied from another
        run or under another name) or a value is not of its column's type; returns their (setting, image), ``?``
        where those are unreadable."""
        bad = [(ident, unit) for ident, unit, records, digest in self._scan()
               if not self._intact(unit, records, digest)]
        if bad:
            with _transaction(self.connection, self.path):
                self.connection.executemany("DELETE FROM units WHERE id = ?", [(ident,) for ident, _ in bad])
                self._drop_orphan_blocks()
        return [(unit.setting, unit.image) if unit else ("?", "?") for _, unit in bad]

    @_guarded
    def done(self) -> set[tuple[str, str]]:
        """(setting, image) of every recorded unit."""
        return set(self.connection.execute("SELECT setting, image FROM units"))

    def _checked(self, scan: Iterator[tuple[int, Unit | None, bytes, bytes]]) -> Iterator[Unit]:
        for _, unit, records, digest in scan:
            if unit is None or not self._intact(unit, records, digest):
                name = f"{unit.setting}/{unit.image}" if unit else "with values of the wrong type"
                raise StoreError(f"{self.path}: unit {name} does not match its digest (edited or damaged); run the "
                                 "sweep again to recompute it")
            yield unit

    @_guarded
    def all_units(self) -> dict[str, dict[str, Unit]]:
        """Every unit by setting and image; a unit that fails its digest is a StoreError (E-9.4)."""
        out: dict[str, dict[str, Unit]] = {}
        for unit in self._checked(self._scan()):
            out.setdefault(unit.setting, {})[unit.image] = unit
        return out

    @_guarded
    def unit_contents(self) -> dict[tuple[str, str], bytes]:
        """Every unit's canonical bytes by (setting, image): equal across engines and runs (E-8.2, E-4.1)."""
        return {(unit.setting, unit.image): unit.canonical() for unit in self._checked(self._scan())}

    @_guarded
    def unit_ids(self) -> dict[tuple[str, str], int]:
        """The row id of every unit: a unit recorded again gets a new one."""
        return {(s, i): n for s, i, n in self.connection.execute("SELECT setting, image, id FROM units")}

    @_guarded
    def units_of(self, setting: str) -> list[Unit]:
        """Every unit of a setting, in image order (E-9.4 checked, as :meth:`all_units`)."""
        order = {image: i for i, image in enumerate(self.image_digests())}
        units = list(self._checked(self._scan("WHERE setting = ?", (setting,))))
        return sorted(units, key=lambda u: order.get(u.image, len(order)))

    @_guarded
    def failures(self) -> list[tuple[str, str, str]]:
        return list(self.connection.execute("SELECT setting, image, error FROM failures ORDER BY setting, image"))

    @_guarded
    def forget_failures(self) -> None:
        with _transaction(self.connection, self.path):
            self.connection.execute("DELETE FROM failures")

    # ------------------------------------------------------------------ results and timing

    @_guarded
    def set_results(self, rows: list[ResultRow]) -> None:
        with _transaction(self.connection, self.path):
            self.connection.execute("DELETE FROM results")
            self.connection.executemany(
                f"INSERT INTO results VALUES (?, {', '.join('?' * len(RESULT_COLUMNS))})",
                [(i, *astuple(r)) for i, r in enumerate(rows)])

    @_guarded
    def results(self) -> list[ResultRow]:
        """The result rows (E-5.1), each checked as results.json's are; a damaged row is a StoreError."""
        from cfc_ref.metrics.results import check_row

        rows = self.connection.execute(f"SELECT {', '.join(RESULT_COLUMNS)} FROM results ORDER BY position")
        try:
            return [check_row(dict(zip(RESULT_COLUMNS, row, strict=True)), str(self.path)) for row in rows]
        except CfcError as err:
            raise StoreError(f"{err}; run the sweep again to aggregate it") from None

    @_guarded
    def start_sweep(self, engine: str, workers: int) -> int:
        from datetime import datetime, timezone

        with _transaction(self.connection, self.path):
            cursor = self.connection.execute("INSERT INTO sweeps (started, engine, workers) VALUES (?, ?, ?)",
                                             (datetime.now(timezone.utc).isoformat(timespec="seconds"), engine,
                                              workers))
        return int(cursor.lastrowid or 0)

    @_guarded
    def end_sweep(self, sweep: int, units: int, wall: float, seconds: dict[str, float], complete: bool,
                  encodes: int = 0, cpu: dict[str, float] | None = None, worker_cpu: float = 0.0) -> None:
        """E-10.1: the sweep's units, fresh encodes, wall time and its workers' CPU, and per stage the wall and CPU
        seconds summed over its workers."""
        cpu = cpu or {}
        with _transaction(self.connection, self.path):
            self.connection.execute("UPDATE sweeps SET units = ?, encodes = ?, wall = ?, worker_cpu = ?, complete = ? "
                                    "WHERE id = ?", (units, encodes, wall, worker_cpu, int(complete), sweep))
            self.connection.executemany("INSERT OR REPLACE INTO timings VALUES (?, ?, ?, ?)",
                                        [(sweep, name, value, cpu.get(name, 0.0))
                                         for name, value in sorted(seconds.items())])

    def _last_sweep(self, sweep: int | None) -> int | None:
        if sweep is None:
            row = self.connection.execute("SELECT max(id) FROM sweeps").fetchone()
            sweep = row[0] if row else None
        return sweep

    @_guarded
    def timings(self, sweep: int | None = None) -> dict[str, float]:
        """Wall seconds per stage of one sweep (default: the last), E-10."""
        return dict(self.connection.execute("SELECT stage, seconds FROM timings WHERE sweep = ?",
                                            (self._last_sweep(sweep),)))

    @_guarded
    def cpu_timings(self, sweep: int | None = None) -> dict[str, float]:
        """CPU seconds per stage of one sweep (default: the last), E-10."""
        return dict(self.connection.execute("SELECT stage, cpu FROM timings WHERE sweep = ?",
                                            (self._last_sweep(sweep),)))

    @_guarded
    def setting_seconds(self, sweep: int | None = None) -> dict[str, dict[str, float]]:
        """E-15.3: seconds per setting and stage, of one sweep, or summed over every sweep (None)."""
        where, args = ("WHERE sweep = ?", (sweep,)) if sweep is not None else ("", ())
        out: dict[str, dict[str, float]] = {}
        for setting, name, seconds in self.connection.execute(
                f"SELECT setting, stage, sum(seconds) FROM setting_seconds {where} GROUP BY setting, stage "
                "ORDER BY setting, stage", args):
            out.setdefault(setting, {})[name] = seconds
        return out

    @_guarded
    def unit_totals(self) -> dict[str, tuple[int, int, int]]:
        """E-15.2: per setting, the bytes KBPI counts and the original pixels, summed over its units, and the
        number of units: (B, P, N), exact integers."""
        return {setting: (int(b), int(p), int(n)) for setting, b, p, n in self.connection.execute(
            "SELECT setting, sum(payload_bytes + side_info_bytes), sum(width * height), count(*) FROM units "
            "GROUP BY setting")}

    @_guarded
    def sweeps(self) -> list[dict]:
        names = ("id", "started", "engine", "workers", "units", "encodes", "wall", "worker_cpu", "complete")
        return [dict(zip(names, row, strict=True))
                for row in self.connection.execute(f"SELECT {', '.join(names)} FROM sweeps ORDER BY id")]

    @_guarded
    def checkpoint(self) -> None:
        """Fold the WAL into the database file (a finished run leaves one file)."""
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class _transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on an exception (the connection is in autocommit mode); an SQLite error
    is a StoreError naming the store (E-9.1)."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection, self.path = connection, path

    def __enter__(self) -> None:
        with _errors(self.path):
            self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, *rest: object) -> None:
        if kind is None:
            with _errors(self.path):
                self.connection.execute("COMMIT")
            return
        try:
            self.connection.execute("ROLLBACK")
        except sqlite3.DatabaseError:
            pass  # a failed COMMIT or statement may have ended the transaction already
        if isinstance(error, sqlite3.DatabaseError):
            with _errors(self.path):
                raise error

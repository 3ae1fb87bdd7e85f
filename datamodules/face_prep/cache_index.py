"""Face preparation's cache index (``index.sqlite``: file content hashes by path, size and
mtime, and each entry's status, box and details), where the cache lives, and the cache
folder's name (the settings digest)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import dlib

from ferlens.datamodules.face_prep.cache_entries import CACHE_FORMAT, DamagedEntry, entry_file, read_entry
from ferlens.datamodules.face_prep.workers import Outcome
from ferlens.faces.landmarks import mmod_path, predictor_path
from ferlens.faces.prepare import FaceSettings

log = logging.getLogger(__name__)

#: Settings that only decide what is reported, not what is stored: left out of the cache folder's digest.
_REPORT_ONLY = ("max_class_drop", "max_class_gap", "on_class_bias")
_COMMIT_EVERY = 500  # database rows written between commits (a killed run keeps most of its work)


def default_cache_dir() -> Path:
    """``$FERLENS_CACHE``, else ``$XDG_CACHE_HOME/ferlens``, else ``~/.cache/ferlens``."""
    if os.environ.get("FERLENS_CACHE"):
        return Path(os.environ["FERLENS_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "ferlens"


class Store:
    """The cache's sqlite index: file content hashes by (path, size, mtime_ns), and each
    entry's status, faces, box, details and (size, mtime_ns) as last written or checked
    (table ``entries_v4``: entries of cache format 4)."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.pending = 0
        try:
            self.db = self._open()
        except sqlite3.DatabaseError:  # only an index of what the entries hold: start afresh
            log.warning("The face-cache index %s was damaged: rebuilding it (images are hashed again, entries reread).", root / "index.sqlite")
            (root / "index.sqlite").unlink()
            self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.root / "index.sqlite", timeout=120)
        try:
            db.executescript(
                "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT);"
                "CREATE TABLE IF NOT EXISTS entries_v4 "
                "(file TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, status TEXT, faces INTEGER, box TEXT, details TEXT);"
            )
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def known_hash(self, path: Path, stat: os.stat_result) -> str | None:
        """The content hash recorded for ``path`` when its size and mtime are unchanged."""
        row = self.db.execute("SELECT size, mtime_ns, sha256 FROM files WHERE path = ?", (os.path.abspath(path),)).fetchone()
        return row[2] if row and row[:2] == (stat.st_size, stat.st_mtime_ns) else None

    def file_hash(self, path: Path) -> str:
        """sha256 of a file, memoised by (path, size, mtime_ns)."""
        stat = os.stat(path)
        known = self.known_hash(path, stat)
        if known is None:
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
            known = digest.hexdigest()
            self.remember_file(path, stat, known)
        return known

    def remember_file(self, path: Path, stat: os.stat_result, content: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (os.path.abspath(path), stat.st_size, stat.st_mtime_ns, content))
        self._written()

    def lookup(self, folder: Path, position: int, content: str, key: str) -> tuple[Outcome | None, bool]:
        """(the cached outcome of entry digest ``key`` or None, whether a damaged entry was
        found). A recorded entry whose size and mtime still match is trusted unopened."""
        file = entry_file(folder, key)
        row = self.db.execute("SELECT size, mtime_ns, status, faces, box, details FROM entries_v4 WHERE file = ?", (self._relative(file),)).fetchone()
        try:
            stat = os.stat(file)
            if row and row[:2] == (stat.st_size, stat.st_mtime_ns):
                box = json.loads(row[4])
                return Outcome(position, content, key, row[2], None if box is None else tuple(box), row[3], cached=True, details=json.loads(row[5])), False
            status, faces, box, details, file_stat = read_entry(file)
            return Outcome(position, content, key, status, box, faces, cached=True, stat=file_stat, details=details), False
        except FileNotFoundError:
            return None, False
        except DamagedEntry:
            return None, True

    def remember_entry(self, folder: Path, outcome: Outcome) -> None:
        if outcome.key is None or outcome.stat is None:
            return
        file = self._relative(entry_file(folder, outcome.key))
        row = (file, *outcome.stat, outcome.status, outcome.faces, json.dumps(outcome.box), json.dumps(outcome.details))
        self.db.execute("INSERT OR REPLACE INTO entries_v4 VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        self._written()

    def _relative(self, file: Path) -> str:
        return file.relative_to(self.root).as_posix()

    def _written(self) -> None:
        self.pending += 1
        if self.pending >= _COMMIT_EVERY:
            self.commit()

    def commit(self) -> None:
        self.db.commit()
        self.pending = 0

    def close(self) -> None:
        self.db.close()


def settings_digest(settings: FaceSettings, store: Store) -> str:
    """The cache folder's name: settings (on_failure=error stores as skip does; the class-bias
    settings, which decide only what is reported, left out), the predictor's and the CNN
    detector's file sha256, dlib's version and the cache format."""
    report_only = {name: getattr(FaceSettings("dlib", "dlib"), name) for name in _REPORT_ONLY}
    stored_as = replace(settings, on_failure="whole" if settings.on_failure == "whole" else "skip", **report_only)
    models = {"predictor": store.file_hash(predictor_path())}
    if "cnn" in settings.detection_steps():
        models["cnn"] = store.file_hash(mmod_path())
    parts = {"settings": stored_as.digest(), **models, "dlib": dlib.__version__, "format": CACHE_FORMAT}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

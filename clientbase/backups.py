"""Snapshots of the database before commands that rewrite derived data, rotated, and restored on demand."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from clientbase.store import PendingSnapshot, Store


@dataclass(frozen=True, slots=True)
class Snapshot:
    name: str
    path: Path
    taken: str
    size: int


def snapshot_dir(db: Path) -> Path:
    """Beside the base itself, as its lock is: a base reached by a symbolic link has one set of snapshots."""
    real = db.resolve()
    return real.with_name(real.name + ".backups")


def list_snapshots(db: Path) -> list[Snapshot]:
    """Newest first, by when they were taken, whatever the time zone of the command that took each."""
    folder = snapshot_dir(db)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.db"):
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed by hand since the listing
            continue
        found.append((_taken_at(path.name, stat.st_mtime), path.name,
                      Snapshot(path.name, path, datetime.fromtimestamp(stat.st_mtime).isoformat(timespec="seconds"),
                               stat.st_size)))
    return [snapshot for *_, snapshot in sorted(found, key=lambda item: item[:2], reverse=True)]


_STAMP = re.compile(r"^(\d{8}-\d{6}-\d{6})(Z?)-")


def _taken_at(name: str, written: float) -> float:
    """When a snapshot was taken, in seconds since the epoch: the UTC stamp of its name (`Z`), or the
    local time of the names older versions gave; when it was written, for a name without a valid stamp."""
    stamp = _STAMP.match(name)
    try:
        taken = datetime.strptime(stamp[1], "%Y%m%d-%H%M%S-%f") if stamp else None
    except ValueError:  # no such day: a name given by hand
        taken = None
    if taken is None:
        return written
    return (taken.replace(tzinfo=timezone.utc) if stamp[2] else taken.astimezone()).timestamp()


@dataclass
class _Taking:
    """A snapshot being copied (see PendingSnapshot): kept with the newest `keep`, and `keeping`, or discarded."""

    db: Path
    target: Path
    copied: Callable[[], None]
    keep_newest: int
    keeping: Path | None

    def wait(self) -> None:
        self.copied()

    def keep(self) -> None:
        for old in [s for s in list_snapshots(self.db) if s.path != self.keeping][self.keep_newest:]:
            with suppress(OSError):  # one that cannot go now goes at a later rotation
                os.unlink(old.path)
        for cut_short in self.target.parent.glob("*.db.partial"):  # a copy whose process was killed
            with suppress(OSError):
                cut_short.unlink()

    def discard(self) -> None:
        with suppress(Exception):  # a copy that failed has removed its half already
            self.copied()
        self.target.unlink(missing_ok=True)


def take_snapshot(store: Store, reason: str, keep: int, keeping: Path | None = None) -> PendingSnapshot | None:
    """Start copying the database aside before `reason` changes it; under the writer lock. Once the command
    has committed, only the newest `keep` copies are kept, and `keeping` whatever its age (the one being
    restored); None when none are kept."""
    if keep <= 0:
        return None
    folder = snapshot_dir(store.path)
    folder.mkdir(mode=0o700, exist_ok=True)
    # UTC: a cron job and a person at a terminal may run in different time zones, and names order snapshots.
    target = folder / f"{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S-%f')}Z-{reason}.db"
    return _Taking(store.path, target, store.backup_to(target), keep, keeping)

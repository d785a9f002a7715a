"""Snapshots of the database before commands that rewrite derived data, rotated, and restored on demand."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from clientbase.store import Store


@dataclass(frozen=True, slots=True)
class Snapshot:
    name: str
    path: Path
    taken: str
    size: int


def snapshot_dir(db: Path) -> Path:
    return db.with_name(db.name + ".backups")


def list_snapshots(db: Path) -> list[Snapshot]:
    """Newest first."""
    folder = snapshot_dir(db)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.db"):
        stat = path.stat()
        found.append(Snapshot(path.name, path, datetime.fromtimestamp(stat.st_mtime).isoformat(timespec="seconds"),
                              stat.st_size))
    return sorted(found, key=lambda s: s.name, reverse=True)


def take_snapshot(store: Store, reason: str, keep: int, keeping: Path | None = None) -> Callable[[], None] | None:
    """Start copying the database aside before `reason` changes it; under the writer lock. Returns what waits
    for the copy, then keeps only the newest `keep` copies, and `keeping` whatever its age (the one being
    restored); None when none are kept."""
    if keep <= 0:
        return None
    folder = snapshot_dir(store.path)
    folder.mkdir(mode=0o700, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    copied = store.backup_to(folder / f"{stamp}-{reason}.db")

    def finish() -> None:
        copied()
        for old in [snapshot for snapshot in list_snapshots(store.path) if snapshot.path != keeping][keep:]:
            os.unlink(old.path)
        for cut_short in folder.glob("*.db.partial"):  # a copy whose process was killed
            cut_short.unlink(missing_ok=True)

    return finish

"""Snapshots of the database before commands that rewrite derived data, rotated, and restored on demand."""

from __future__ import annotations

import os
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


def take_snapshot(store: Store, reason: str, keep: int) -> Snapshot | None:
    """Copy the database aside before `reason` changes it; keep only the newest `keep` copies."""
    if keep <= 0:
        return None
    folder = snapshot_dir(store.path)
    folder.mkdir(mode=0o700, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{stamp}-{reason}.db"
    store.backup_to(target)
    for old in list_snapshots(store.path)[keep:]:
        os.unlink(old.path)
    return next(s for s in list_snapshots(store.path) if s.path == target)

"""What a clean keeps in the base for the next: columns of numbers, and the lists of values their codes point
into, stored as parts (a name and its bytes)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy


def to_parts(kept: object, columns: Sequence[tuple[str, type]], lists: Sequence[str]) -> dict[str, bytes]:
    """`kept`'s numpy `columns` ((name, dtype) pairs) and its `lists`, by name."""
    return {**{name: getattr(kept, name).tobytes() for name, _ in columns},
            **{name: json.dumps(getattr(kept, name), ensure_ascii=False).encode() for name in lists}}


def from_parts(parts: dict[str, bytes], columns: Sequence[tuple[str, type]], lists: Sequence[str]) -> list:
    """The columns, then the lists, that to_parts gave `parts` of."""
    return [*(numpy.frombuffer(parts[name], dtype=dtype) for name, dtype in columns),
            *(json.loads(parts[name]) for name in lists)]


def found(held: numpy.ndarray, wanted: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Where each wanted value sits in the sorted `held` (0 when `held` is empty), and whether it is there."""
    positions = numpy.searchsorted(held, wanted).clip(0, max(0, len(held) - 1))
    return positions, held[positions] == wanted if len(held) else numpy.zeros(len(wanted), dtype=bool)

"""Parquet tables and JSON documents that carry their provenance, and safe writes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from transitflow.provenance import canonical_json

PROVENANCE_KEY = b"transitflow.provenance"


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary name beside ``path`` (same suffix) to write to; it becomes ``path`` when
    the block ends, and is removed if the block fails, so a killed job or a full disk
    leaves the previous file or none, never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_table(frame: pd.DataFrame, path: str | Path, provenance: dict) -> Path:
    """Write ``frame`` as Parquet with ``provenance`` in the file's schema metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[PROVENANCE_KEY] = canonical_json(provenance).encode()
    with atomic_output(path) as partial:
        pq.write_table(table.replace_schema_metadata(metadata), partial)
    return Path(path)


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet table written by :func:`write_table`."""
    return pq.read_table(path, columns=columns).to_pandas()


def read_tables(paths) -> pd.DataFrame:
    """The tables of ``paths`` as one; empty with the first table's columns if all are."""
    frames = [read_table(path) for path in paths]
    filled = [frame for frame in frames if not frame.empty]
    if filled:
        return pd.concat(filled, ignore_index=True)
    return frames[0] if frames else pd.DataFrame()


def read_provenance(path: str | Path) -> dict:
    """The provenance stored in a Parquet table or a JSON document."""
    path = Path(path)
    if path.suffix == ".json":
        return json.loads(path.read_text())["provenance"]
    metadata = pq.read_schema(path).metadata or {}
    return json.loads(metadata[PROVENANCE_KEY])


def write_json(document: dict, path: str | Path, provenance: dict) -> Path:
    """Write ``document`` with a ``provenance`` key, keys sorted so reruns are identical."""
    with atomic_output(path) as partial:
        partial.write_text(json.dumps({**document, "provenance": provenance}, indent=2,
                                      sort_keys=True, default=str) + "\n")
    return Path(path)

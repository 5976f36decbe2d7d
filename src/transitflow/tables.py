"""Parquet tables and JSON documents that carry their provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from transitflow.provenance import canonical_json

PROVENANCE_KEY = b"transitflow.provenance"


def write_table(frame: pd.DataFrame, path: str | Path, provenance: dict) -> Path:
    """Write ``frame`` as Parquet with ``provenance`` in the file's schema metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[PROVENANCE_KEY] = canonical_json(provenance).encode()
    pq.write_table(table.replace_schema_metadata(metadata), path)
    return path


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet table written by :func:`write_table`."""
    return pq.read_table(path, columns=columns).to_pandas()


def read_provenance(path: str | Path) -> dict:
    """The provenance stored in a Parquet table or a JSON document."""
    path = Path(path)
    if path.suffix == ".json":
        return json.loads(path.read_text())["provenance"]
    metadata = pq.read_schema(path).metadata or {}
    return json.loads(metadata[PROVENANCE_KEY])


def write_json(document: dict, path: str | Path, provenance: dict) -> Path:
    """Write ``document`` with a ``provenance`` key, keys sorted so reruns are identical."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**document, "provenance": provenance}, indent=2, sort_keys=True,
                               default=str) + "\n")
    return path

"""Light-curve shards: many light curves in one memory-mappable Arrow IPC file.

One row per light curve: the :class:`LightCurveMeta` fields as scalar columns and the
cadence arrays as list columns (time float64, the rest float32, quality int32). Reading
maps the file into memory, so opening a shard is cheap and arrays are not copied until used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from transitflow.lightcurve import ARRAY_FIELDS, LightCurve, LightCurveMeta, lightcurve_key
from transitflow.provenance import canonical_json
from transitflow.tables import PROVENANCE_KEY, atomic_output

META_FIELDS = tuple(f.name for f in fields(LightCurveMeta))
_META_TYPES = {"int": pa.int64(), "float": pa.float64(), "str": pa.string()}
_ARRAY_TYPES = {"time": pa.float64(), "quality": pa.int32()}


def shard_schema() -> pa.Schema:
    """The Arrow schema of a light-curve shard."""
    meta = [pa.field(f.name, _META_TYPES[f.type]) for f in fields(LightCurveMeta)]
    arrays = [pa.field(name, pa.large_list(_ARRAY_TYPES.get(name, pa.float32())))
              for name in ARRAY_FIELDS]
    return pa.schema(meta + arrays)


def write_shard(path: str | Path, light_curves: Iterable[LightCurve], provenance: dict) -> Path:
    """Write light curves to one shard file (an empty iterable gives an empty shard)."""
    light_curves = list(light_curves)
    schema = shard_schema().with_metadata({PROVENANCE_KEY: canonical_json(provenance).encode()})
    columns = {name: [getattr(lc.meta, name) for lc in light_curves] for name in META_FIELDS}
    columns.update({name: [getattr(lc, name) for lc in light_curves] for name in ARRAY_FIELDS})
    table = pa.Table.from_pydict(columns, schema=schema)
    with (atomic_output(path) as partial, pa.OSFile(str(partial), "wb") as sink,
          pa.ipc.new_file(sink, schema) as writer):
        writer.write_table(table)
    return Path(path)


def open_shard(path: str | Path) -> pa.Table:
    """The shard as a memory-mapped Arrow table."""
    try:
        with pa.memory_map(str(path), "r") as source:
            return pa.ipc.open_file(source).read_all()
    except (OSError, pa.ArrowInvalid) as error:
        raise ValueError(f"{path}: not a readable light-curve shard ({error})") from error


def shard_provenance(path: str | Path) -> dict:
    """The provenance recorded when the shard was written."""
    return json.loads(open_shard(path).schema.metadata[PROVENANCE_KEY])


def shard_data_digest(path: str | Path) -> str:
    """SHA-256 of a shard's light curves, its provenance left out: the same light curves
    written by another code version have the same digest."""
    table = open_shard(path)
    digest = hashlib.sha256(str(table.schema.remove_metadata()).encode())
    for column in table.columns:
        for chunk in column.chunks:
            for buffer in filter(None, chunk.buffers()):
                digest.update(buffer)
    return digest.hexdigest()


def shard_metadata(path: str | Path) -> pd.DataFrame:
    """One row per light curve: its key, metadata and number of cadences."""
    table = open_shard(path)
    frame = table.select(list(META_FIELDS)).to_pandas()
    frame.insert(0, "key", [lightcurve_key(tic, sector) for tic, sector in zip(frame.tic, frame.sector)])
    frame["n_cadences"] = np.diff(table.column("time").combine_chunks().offsets.to_numpy())
    return frame


def iter_shard(path: str | Path, keys: Iterable[str] | None = None) -> Iterator[LightCurve]:
    """Light curves of a shard, in file order; only those in ``keys`` when given."""
    table = open_shard(path)
    wanted = None if keys is None else set(keys)
    for row in range(table.num_rows):
        meta = LightCurveMeta(**{name: table.column(name)[row].as_py() for name in META_FIELDS})
        if wanted is not None and meta.key not in wanted:
            continue
        arrays = {name: table.column(name)[row].values.to_numpy(zero_copy_only=False)
                  for name in ARRAY_FIELDS}
        yield LightCurve(meta=meta, **arrays)


def read_shard(path: str | Path) -> list[LightCurve]:
    """All light curves of a shard."""
    return list(iter_shard(path))

"""The model input: one definition shared by training and inference.

A light curve becomes a ``(channels, length)`` float32 array with three channels:

``flux``
    Flux (PDCSAP for SPOC light curves).
``centroid``
    Distance of the flux-weighted centroid from its median position, in pixels
    (missing values count as no offset).
``background``
    Sky background (missing values take the light curve's median).

Flagged cadences and cadences with non-finite time or flux are dropped first. Curves
longer than ``length`` are averaged into ``length`` equal-count bins (or truncated); shorter
ones are wrap-padded, and normalisation statistics ignore the padding. Each channel is then
normalised on its own.

Every light curve, alone or in a shard, goes through the same vectorised code
(:func:`featurize_table`), so training and inference see identical inputs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from transitflow.lightcurve import DEFAULT_QUALITY_BITMASK, LightCurve, LightCurveMeta
from transitflow.options import options_from_dict
from transitflow.shards import open_shard, shard_schema

CHANNELS = ("flux", "centroid", "background")
NORMALIZATIONS = ("zscore_minmax", "modified_zscore")
RESIZE_MODES = ("bin", "truncate")
_CHANNEL_COLUMNS = {"flux": ("flux",), "centroid": ("centroid_col", "centroid_row"),
                    "background": ("background",)}


@dataclass(frozen=True)
class FeatureConfig:
    """How a light curve becomes model input.

    Parameters
    ----------
    length : int
        Number of samples per channel.
    quality_bitmask : int
        Quality bits whose cadences are dropped.
    normalization : str
        ``"zscore_minmax"``: z-score, then scaled to [-1, 1] (Salinas et al. 2025);
        ``"modified_zscore"``: 0.6745 (x - median) / MAD (qusi).
    channels : tuple of str
        Channels in order, from ``CHANNELS``.
    resize : str
        Curves longer than ``length``: ``"bin"`` averages into equal-count bins (the whole
        sector survives), ``"truncate"`` keeps the first ``length`` cadences (as qusi).
    min_cadences : int
        Fewer good cadences than this and the light curve is not featurised.
    """

    length: int = 1000
    quality_bitmask: int = DEFAULT_QUALITY_BITMASK
    normalization: str = "zscore_minmax"
    channels: tuple[str, ...] = CHANNELS
    resize: str = "bin"
    min_cadences: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        if self.length < 1 or self.min_cadences < 1:
            raise ValueError(f"length ({self.length}) and min_cadences ({self.min_cadences}) "
                             "must be positive")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization {self.normalization!r} not in {NORMALIZATIONS}")
        if self.resize not in RESIZE_MODES:
            raise ValueError(f"resize {self.resize!r} not in {RESIZE_MODES}")
        if not self.channels or len(set(self.channels)) != len(self.channels) \
                or not set(self.channels) <= set(CHANNELS):
            raise ValueError(f"channels {self.channels} must be distinct names from {CHANNELS}")

    @classmethod
    def from_dict(cls, options: dict) -> FeatureConfig:
        """The config from a mapping; unknown keys are an error."""
        return options_from_dict(cls, options, "features")

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}


@dataclass(frozen=True)
class ShardFeatures:
    """Features of every light curve of a table, in row order.

    ``keys``, ``ok`` and ``reasons`` have one entry per row (``reasons`` is "" where ``ok``);
    ``x`` is ``(ok.sum(), channels, length)`` float32, for the rows that are ``ok``.
    """

    keys: list[str]
    ok: np.ndarray
    reasons: list[str]
    x: np.ndarray


def lightcurve_features(lc: LightCurve, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """The ``(channels, length)`` float32 model input of one light curve.

    Raises
    ------
    ValueError
        When the light curve has fewer than ``cfg.min_cadences`` good cadences.
    """
    names = ["tic", "sector", *_needed_columns(cfg.channels)]
    table = pa.Table.from_pydict(
        {"tic": [lc.meta.tic], "sector": [lc.meta.sector],
         **{name: [getattr(lc, name)] for name in names[2:]}},
        schema=pa.schema([shard_schema().field(name) for name in names]))
    features = featurize_table(table, cfg)
    if not features.ok[0]:
        raise ValueError(f"{lc.meta.key}: {features.reasons[0]}")
    return features.x[0]


def shard_features(shard_path: str | Path,
                   cfg: FeatureConfig = FeatureConfig()) -> tuple[list[str], np.ndarray]:
    """Keys and ``(N, channels, length)`` inputs of the light curves of a shard that have
    enough good cadences, in file order."""
    features = featurize_table(open_shard(shard_path), cfg)
    return [key for key, ok in zip(features.keys, features.ok) if ok], features.x


def featurize_table(table: pa.Table, cfg: FeatureConfig = FeatureConfig()) -> ShardFeatures:
    """Features of every row of a shard table, vectorised over the flat list values."""
    keys = [LightCurveMeta(tic=tic, sector=sector).key for tic, sector in
            zip(table.column("tic").to_pylist(), table.column("sector").to_pylist())]
    flat, offsets = _flat_columns(table, _needed_columns(cfg.channels))
    good = (((flat["quality"] & cfg.quality_bitmask) == 0) & np.isfinite(flat["time"])
            & np.isfinite(flat["flux"]))
    n_good = np.diff(np.concatenate([[0], np.cumsum(good)])[offsets])
    ok = n_good >= cfg.min_cadences
    reasons = ["" if enough else f"{n} good cadences, fewer than {cfg.min_cadences}"
               for n, enough in zip(n_good.tolist(), ok.tolist())]
    keep = good & np.repeat(ok, np.diff(offsets))
    columns = {name: values[keep] for name, values in flat.items()
               if name not in ("time", "quality")}
    dense, valid = _resize(columns, n_good[ok], cfg)
    x = np.empty((len(valid), len(cfg.channels), cfg.length), dtype=np.float32)
    for index, name in enumerate(cfg.channels):
        x[:, index] = _channel(name, dense, valid, cfg)
    return ShardFeatures(keys=keys, ok=ok, reasons=reasons, x=_wrap(x, valid.sum(axis=1)))


def _needed_columns(channels: tuple[str, ...]) -> list[str]:
    """The shard columns that the cadence mask and ``channels`` read."""
    return ["time", "quality", "flux"] + [name for channel in channels
                                         for name in _CHANNEL_COLUMNS[channel] if name != "flux"]


def _flat_columns(table: pa.Table,
                  names: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each list column's flat values (rows back to back) and the row offsets they share."""
    flat = {}
    for name in names:
        column = table.column(name).combine_chunks()
        offsets = column.offsets.to_numpy()
        flat[name] = column.values.to_numpy(zero_copy_only=False)[offsets[0]:offsets[-1]]
    return flat, offsets - offsets[0]


def _resize(columns: dict[str, np.ndarray], n: np.ndarray,
            cfg: FeatureConfig) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Ragged rows of ``n`` values to ``(rows, length)`` arrays of NaN-ignoring bin means.

    Sample ``j`` of a row of ``n >= length`` values averages values ``[j n / length,
    (j + 1) n / length)`` when binning, or is value ``j`` when truncating; a shorter row
    fills its first ``n`` samples. ``valid`` marks the filled samples (the rest are NaN).
    """
    length = cfg.length
    starts = np.cumsum(n) - n
    j = np.arange(length)
    valid = j < n[:, None]
    binned = (n >= length) & (cfg.resize == "bin")
    first = np.where(binned[:, None], (j * n[:, None]) // length, j)[valid]
    used = np.where(binned, n, np.minimum(n, length))
    source = np.repeat(starts, used) + _ragged_arange(used)
    bin_starts = np.repeat(np.cumsum(used) - used, valid.sum(axis=1)) + first
    bin_sizes = np.diff(bin_starts, append=len(source))
    dense = {}
    for name, values in columns.items():
        values = values[source]
        finite = np.isfinite(values)
        out = np.full(valid.shape, np.nan, dtype=np.float32)
        if finite.all():
            out[valid] = np.add.reduceat(values, bin_starts) / bin_sizes
        else:
            total = np.add.reduceat(np.where(finite, values, 0.0), bin_starts)
            count = np.add.reduceat(finite.astype(np.int64), bin_starts)
            with np.errstate(invalid="ignore"):
                out[valid] = total / count
        dense[name] = out
    return dense, valid


def _ragged_arange(lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(k) for k in lengths])`` without a Python loop."""
    ends = np.cumsum(lengths)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lengths, lengths)


def _channel(name: str, dense: dict[str, np.ndarray], valid: np.ndarray,
             cfg: FeatureConfig) -> np.ndarray:
    """One normalised channel, NaN outside ``valid``."""
    if name == "flux":
        values = dense["flux"]
    elif name == "centroid":
        col, row = dense["centroid_col"], dense["centroid_row"]
        values = np.hypot(col - _row_nanmedian(col)[:, None], row - _row_nanmedian(row)[:, None])
        values = np.where(valid & np.isnan(values), 0.0, values)
    else:
        background = dense["background"]
        median = np.nan_to_num(_row_nanmedian(background))[:, None]
        values = np.where(valid & np.isnan(background), median, background)
    return _normalize(values, cfg.normalization)


def _normalize(values: np.ndarray, method: str) -> np.ndarray:
    """Per-row normalisation ignoring NaN; constant rows become 0."""
    if method == "zscore_minmax":
        # Min-max scaling is invariant to the z-score's shift and scale: scale directly.
        low, high = np.nanmin(values, axis=1)[:, None], np.nanmax(values, axis=1)[:, None]
        span = high - low
        scaled = 2.0 * (values - low) / np.where(span > 0, span, 1.0) - 1.0
        return np.where(span > 0, scaled, 0.0)
    deviation = values - _row_nanmedian(values)[:, None]
    mad = _row_nanmedian(np.abs(deviation))[:, None]
    return np.where(mad > 0, 0.6745 * deviation / np.where(mad > 0, mad, 1.0), 0.0)


def _row_nanmedian(values: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN (NaN for an all-NaN row), without a Python loop."""
    ordered = np.sort(values, axis=1)  # NaN sorts last
    count = np.isfinite(values).sum(axis=1)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[:, None], axis=1)[:, 0]
    high = np.take_along_axis(ordered, np.minimum(count // 2, values.shape[1] - 1)[:, None],
                              axis=1)[:, 0]
    return np.where(count > 0, 0.5 * (low + high), np.nan)


def _wrap(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Fill each row's samples past its ``n`` valid ones by repeating it from the start."""
    short = n < x.shape[-1]
    index = np.arange(x.shape[-1]) % n[short, None]
    x[short] = np.take_along_axis(x[short], index[:, None, :], axis=2)
    return x

"""The model input: one definition shared by training and inference.

A light curve becomes a ``(channels, length)`` float32 array of some of these channels
(by default ``flat``, ``centroid`` and ``background``):

``flux``
    Flux (PDCSAP for SPOC light curves).
``flat``
    Flux over its running median (``flat_window`` samples): stellar variability and slow
    systematics divided out, so a network sees transits rather than a simulator's trends.
``centroid``
    Distance of the flux-weighted centroid from its median position, in pixels
    (missing values count as no offset).
``background``
    Sky background (missing values take the light curve's median).

Flagged cadences and cadences with non-finite time or flux are dropped first. Curves
longer than ``length`` are averaged into ``length`` equal-count bins (or truncated); shorter
ones are stretched to ``length``, each sample repeated in order (wrap-padding would show an
event twice), and normalisation statistics ignore the repeats. Each channel is then
normalised on its own.

With ``local_length`` > 0, each channel also gets a local view, appended after its
``length`` samples: the channel's good cadences folded at a signal's ephemeris (the period,
epoch and duration the detection search found; a single event for an infinite period) and
averaged into ``local_length`` bins spanning ``local_window`` durations, centred on the
transit, empty bins taking their neighbour's value; normalised on its own as the channel
is. The ``flat`` channel's cadences are divided by the running median of their sample. A
light curve without an ephemeris has an all-zero local view.

Every light curve, alone or in a shard, goes through the same vectorised code
(:func:`featurize_table`), so training and inference see identical inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import bottleneck
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transitflow.lightcurve import DEFAULT_QUALITY_BITMASK, LightCurve
from transitflow.options import options_from_dict
from transitflow.shards import open_shard, shard_schema

CHANNELS = ("flux", "flat", "centroid", "background")
DEFAULT_CHANNELS = ("flat", "centroid", "background")
NORMALIZATIONS = ("zscore_minmax", "modified_zscore", "robust_clip")
RESIZE_MODES = ("bin", "truncate")
_CLIP = 10.0  # robust_clip: where the modified z-score saturates
_CHANNEL_COLUMNS = {"flux": ("flux",), "flat": ("flux",),
                    "centroid": ("centroid_col", "centroid_row"), "background": ("background",)}


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
        ``"modified_zscore"``: 0.6745 (x - median) / MAD (qusi); ``"robust_clip"``: that,
        softly clipped at 10 (``10 tanh(z / 10)``).
    channels : tuple of str
        Channels in order, from ``CHANNELS``.
    resize : str
        Curves longer than ``length``: ``"bin"`` averages into equal-count bins (the whole
        sector survives), ``"truncate"`` keeps the first ``length`` cadences (as qusi).
    min_cadences : int
        Fewer good cadences than this and the light curve is not featurised.
    flat_window : int
        Samples of the running median that the ``flat`` channel divides out (odd; 51 is
        1.4 days of a 27-day sector at ``length`` 1000: longer than a transit).
    local_length : int
        Bins of each channel's local view (0: none).
    local_window : float
        Transit durations that the local view spans.
    local_normalization : str or None
        Normalisation of the local views (None: ``normalization``).
    """

    length: int = 1000
    quality_bitmask: int = DEFAULT_QUALITY_BITMASK
    normalization: str = "zscore_minmax"
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    resize: str = "bin"
    min_cadences: int = 100
    flat_window: int = 51
    local_length: int = 0
    local_window: float = 5.0
    local_normalization: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        if self.length < 1 or self.min_cadences < 1:
            raise ValueError(f"length ({self.length}) and min_cadences ({self.min_cadences}) "
                             "must be positive")
        if "flat" in self.channels and not (
                1 <= self.flat_window <= self.length and self.flat_window % 2):
            raise ValueError(f"flat_window ({self.flat_window}) must be odd, positive and at "
                             f"most length ({self.length})")
        if self.local_length < 0 or not self.local_window > 0:
            raise ValueError(f"local_length ({self.local_length}) must be >= 0 and "
                             f"local_window ({self.local_window}) positive")
        for normalization in (self.normalization, self.local_normalization or "zscore_minmax"):
            if normalization not in NORMALIZATIONS:
                raise ValueError(f"normalization {normalization!r} not in {NORMALIZATIONS}")
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

    @property
    def samples(self) -> int:
        """Samples per channel: the global view's, then the local view's."""
        return self.length + self.local_length


@dataclass(frozen=True)
class ShardFeatures:
    """Features of every light curve of a table, in row order.

    ``keys``, ``ok`` and ``reasons`` have one entry per row (``reasons`` is "" where ``ok``);
    ``x`` is ``(ok.sum(), channels, samples)`` float32, for the rows that are ``ok``.
    """

    keys: list[str]
    ok: np.ndarray
    reasons: list[str]
    x: np.ndarray


def lightcurve_features(lc: LightCurve, cfg: FeatureConfig = FeatureConfig(),
                        ephemeris: tuple[float, float, float] | None = None) -> np.ndarray:
    """The ``(channels, samples)`` float32 model input of one light curve (its local view
    at ``ephemeris``, ``(period, epoch, duration)``, when the config has one).

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
    ephemerides = None if ephemeris is None else np.array([ephemeris], dtype=float)
    features = featurize_table(table, cfg, ephemerides)
    if not features.ok[0]:
        raise ValueError(f"{lc.meta.key}: {features.reasons[0]}")
    return features.x[0]


def shard_features(shard_path: str | Path,
                   cfg: FeatureConfig = FeatureConfig()) -> tuple[list[str], np.ndarray]:
    """Keys and ``(N, channels, samples)`` inputs of the light curves of a shard that have
    enough good cadences, in file order."""
    features = featurize_table(open_shard(shard_path), cfg)
    return [key for key, ok in zip(features.keys, features.ok) if ok], features.x


def featurize_table(table: pa.Table, cfg: FeatureConfig = FeatureConfig(),
                    ephemerides: np.ndarray | None = None) -> ShardFeatures:
    """Features of every row of a shard table, vectorised over the flat list values.

    ``ephemerides`` is ``(rows, 3)``: each row's period (inf for a single event), epoch and
    duration in days, NaN for none (:func:`search_ephemerides`); None when there are none.
    """
    flat, offsets = _flat_columns(table, _needed_columns(cfg.channels))
    is_good = (((flat["quality"] & cfg.quality_bitmask) == 0) & np.isfinite(flat["time"])
               & np.isfinite(flat["flux"]))
    good = np.flatnonzero(is_good)
    first_good = np.searchsorted(good, offsets)
    n_good = np.diff(first_good)
    ok = n_good >= cfg.min_cadences
    bins = _Bins.plan(is_good, good, first_good[:-1][ok], n_good[ok], cfg)
    dense = {name: bins.means(values) for name, values in flat.items()
             if name not in ("time", "quality")}
    if "flat" in cfg.channels:
        dense["trend"] = _running_median(dense["flux"], cfg.flat_window)
    x = np.empty((len(bins.filled), len(cfg.channels), cfg.samples), dtype=np.float32)
    folds = _Folds.plan(flat["time"], good, first_good[:-1][ok], n_good[ok],
                        _rows_ephemerides(ephemerides, ok), cfg) if cfg.local_length else None
    for index, name in enumerate(cfg.channels):
        if folds is not None:  # first: the global channel may change ``dense``
            folds.channel(name, flat, dense, cfg, out=x[:, index, cfg.length:])
        _channel(name, dense, bins.valid, cfg, out=x[:, index, :cfg.length])
    _stretch(x[:, :, :cfg.length], bins.filled)
    return ShardFeatures(keys=_keys(table), ok=ok, reasons=_reasons(n_good, ok, cfg.min_cadences),
                         x=x)


def _keys(table: pa.Table) -> list[str]:
    """The light-curve key of each row (:func:`~transitflow.lightcurve.lightcurve_key`)."""
    sector = pc.utf8_lpad(pc.cast(table.column("sector"), pa.string()), width=4, padding="0")
    return pc.binary_join_element_wise(pc.cast(table.column("tic"), pa.string()), sector,
                                       "-s").to_pylist()


def _reasons(n_good: np.ndarray, ok: np.ndarray, min_cadences: int) -> list[str]:
    """Why each row is not featurised ("" where it is)."""
    counts = pc.cast(pa.array(n_good), pa.string())
    why = pc.binary_join_element_wise(counts, f" good cadences, fewer than {min_cadences}", "")
    return pc.if_else(pa.array(ok), "", why).to_pylist()


def _needed_columns(channels: tuple[str, ...]) -> list[str]:
    """The shard columns that the cadence mask and ``channels`` read."""
    return ["time", "quality", "flux"] + [name for channel in channels
                                         for name in _CHANNEL_COLUMNS[channel] if name != "flux"]


def _flat_columns(table: pa.Table,
                  names: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each list column's flat values (rows back to back; not copied when the column is
    one chunk) and the row offsets they share."""
    flat = {}
    for name in names:
        chunks = table.column(name).chunks
        column = chunks[0] if len(chunks) == 1 else table.column(name).combine_chunks()
        offsets = column.offsets.to_numpy()
        flat[name] = column.values.to_numpy(zero_copy_only=False)[offsets[0]:offsets[-1]]
    return flat, offsets - offsets[0]


@dataclass(frozen=True)
class _Bins:
    """Which flat values make each sample of the ``(rows, length)`` resized rows.

    Sample ``j`` of a row of ``n >= length`` good values averages values ``[j n / length,
    (j + 1) n / length)`` when binning, or is value ``j`` when truncating; a shorter row
    fills its first ``n`` samples. ``filled`` counts each row's filled samples and
    ``valid`` marks them (None when all are). Filled sample ``i`` sums ``sizes[i]`` values
    of a flat column: ``column[source][starts[i]:starts[i + 1]]`` (``source`` is an index
    or a mask) or, when no sample has more than two (``starts`` is None), ``column[first[i]]``
    and ``column[last[i]]``, a sample of one value counting it twice (``sizes`` is 2; its
    mean is exact below half the float32 maximum).
    """

    length: int
    filled: np.ndarray
    valid: np.ndarray | None
    sizes: np.ndarray | float
    first: np.ndarray | None = None
    last: np.ndarray | None = None
    source: np.ndarray | None = None
    starts: np.ndarray | None = None

    @classmethod
    def plan(cls, is_good: np.ndarray, good: np.ndarray, first_good: np.ndarray,
             n: np.ndarray, cfg: FeatureConfig) -> _Bins:
        """The bins of rows whose ``n`` good values lie at ``good[first_good:][:n]``, where
        ``good`` are the flat indices where ``is_good``."""
        length = cfg.length
        binned = (n > length) & (cfg.resize == "bin")
        filled = np.minimum(n, length)
        valid = None if (filled == length).all() else np.arange(length) < filled[:, None]
        # rows binning as many values share their bin edges (a truncated row: one per value)
        counts, row_counts = np.unique(np.where(binned, n, length), return_inverse=True)
        edges = (np.arange(length + 1) * counts[:, None]) // length
        if counts.max(initial=0) <= 2 * length:
            at = first_good[:, None] + edges[row_counts]
            return cls(length, filled, valid, 2.0,
                       first=np.take(good, _filled(at[:, :-1], valid)),
                       last=np.take(good, _filled(at[:, 1:] - 1, valid)))
        used = np.where(binned, n, filled)
        source = is_good if used.sum() == len(good) else \
            np.take(good, _ragged_arange(used) + np.repeat(first_good, used))
        starts = edges[row_counts, :-1] + (np.cumsum(used) - used)[:, None]
        sizes = np.diff(edges, axis=1).astype(np.float32)[row_counts]
        return cls(length, filled, valid, _filled(sizes, valid), source=source,
                   starts=_filled(starts, valid))

    def means(self, column: np.ndarray) -> np.ndarray:
        """NaN-ignoring sample means of a flat column, ``(rows, length)`` float32, NaN
        where not ``valid`` (or where all of a sample's values are NaN)."""
        values = self._sums(column)
        if np.isfinite(values).all():  # then so is every value summed
            values /= self.sizes
        else:
            finite = np.isfinite(column)
            with np.errstate(invalid="ignore"):
                values = (self._sums(np.where(finite, column, 0.0))
                          / self._sums(finite.astype(np.float32)))
        if self.valid is None:
            return values.reshape(-1, self.length)
        out = np.full(self.valid.shape, np.nan, dtype=np.float32)
        out[self.valid] = values
        return out

    def _sums(self, column: np.ndarray) -> np.ndarray:
        """Each filled sample's ``sizes`` values of a flat column, summed in the order
        ``np.add.reduceat`` sums them."""
        if self.starts is None:
            return np.take(column, self.first) + np.take(column, self.last)
        return np.add.reduceat(column[self.source], self.starts)


def _filled(samples: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """The filled entries of a ``(rows, length)`` array, flat."""
    return samples.ravel() if valid is None else samples[valid]


def _ragged_arange(lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(k) for k in lengths])`` without a Python loop."""
    ends = np.cumsum(lengths)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lengths, lengths)


def _channel(name: str, dense: dict[str, np.ndarray], valid: np.ndarray | None,
             cfg: FeatureConfig, out: np.ndarray) -> None:
    """One normalised channel into ``out``, NaN outside ``valid``; may modify ``dense``."""
    if name == "flux":
        values = dense["flux"]
    elif name == "flat":
        values = _divided(dense["flux"], dense["trend"])
    elif name == "centroid":
        col, row = dense["centroid_col"], dense["centroid_row"]
        col -= _row_nanmedian(col)[:, None]
        row -= _row_nanmedian(row)[:, None]
        values = np.hypot(col, row, out=col)
        values[_where_valid(np.isnan(values), valid)] = 0.0
    else:
        values = dense["background"]
        fill = _where_valid(np.isnan(values), valid)
        rows = np.flatnonzero(fill.any(axis=1))
        if len(rows):
            median = np.nan_to_num(_row_nanmedian(values[rows]))
            values[rows] = np.where(fill[rows], median[:, None], values[rows])
    _normalize(values, cfg.normalization, out)


def _divided(flux: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """Flux over its trend; a trend of 0 or below has nothing to divide out, the value
    counts as flat (1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        values = flux / trend
    values[~np.isfinite(values) & np.isfinite(flux)] = 1.0
    return values


def _running_median(values: np.ndarray, window: int) -> np.ndarray:
    """Each row's running median over ``window`` samples, reflected at the ends of its
    finite samples (a short row's samples past its end are NaN)."""
    count = np.isfinite(values).sum(axis=1, keepdims=True)
    index = np.arange(values.shape[1])
    reflected = np.abs(np.where(index < count, index, 2 * (count - 1) - index))
    filled = np.take_along_axis(values, np.minimum(reflected, values.shape[1] - 1), axis=1)
    filled = np.where(np.isnan(filled), _row_nanmedian(values)[:, None], filled)
    half = window // 2
    padded = np.pad(filled, ((0, 0), (half, half)), mode="reflect")
    trailing = bottleneck.move_median(padded, window, axis=1)  # of the window ending here
    return trailing[:, window - 1:].astype(np.float32)


def _where_valid(mask: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """``mask`` restricted to the ``valid`` samples (all samples when None)."""
    return mask if valid is None else mask & valid


def _normalize(values: np.ndarray, method: str, out: np.ndarray) -> None:
    """Per-row normalisation ignoring NaN into ``out``; constant rows become 0."""
    if method == "zscore_minmax":
        # Min-max scaling is invariant to the z-score's shift and scale: scale directly.
        low = np.nanmin(values, axis=1)[:, None]
        span = np.nanmax(values, axis=1)[:, None] - low
        np.subtract(values, low, out=out)
        out *= 2.0
        out /= np.where(span > 0, span, 1.0)
        out -= 1.0
    else:
        np.subtract(values, _row_nanmedian(values)[:, None], out=out)
        span = _row_nanmedian(np.abs(out))[:, None]
        out *= 0.6745
        out /= np.where(span > 0, span, 1.0)
        if method == "robust_clip":  # tails softly clipped: no event sets the scale
            np.tanh(out / _CLIP, out=out)
            out *= _CLIP
    out[~(span[:, 0] > 0)] = 0.0


def _row_nanmedian(values: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN (NaN for an all-NaN row), without a Python loop."""
    ordered = np.sort(values, axis=1)  # NaN sorts last
    count = np.isfinite(values).sum(axis=1)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[:, None], axis=1)[:, 0]
    high = np.take_along_axis(ordered, np.minimum(count // 2, values.shape[1] - 1)[:, None],
                              axis=1)[:, 0]
    return np.where(count > 0, 0.5 * (low + high), np.nan)


def _stretch(x: np.ndarray, n: np.ndarray) -> None:
    """Stretch each row's ``n`` valid samples over the whole length, in place: output
    sample ``j`` repeats valid sample ``j n // length``, so every sample appears in one run,
    in order, and no event twice."""
    short = n < x.shape[-1]
    index = (np.arange(x.shape[-1]) * n[short, None]) // x.shape[-1]
    x[short] = np.take_along_axis(x[short], index[:, None, :], axis=2)


def search_ephemerides(detections: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """The ``(len(keys), 3)`` ephemerides (period, epoch, duration) of the light curves
    ``keys`` from detection tables (:func:`transitflow.detect.batch.detect_shard`): the
    periodic signal, or the single event (period inf) where its SNR is higher (a star's
    joined light curve: the ephemeris its sectors give it); NaN for a light curve not
    searched."""
    data = detections[detections["copy"] == "data"].set_index("key")
    single = data["single_snr"].fillna(-np.inf) > data["snr"].fillna(-np.inf)
    ephemerides = pd.DataFrame({
        "period": data["period"].where(~single, np.inf),
        "epoch": data["epoch"].where(~single, data["single_epoch"]),
        "duration": data["duration"].where(~single, data["single_duration"])})
    return ephemerides.reindex(list(keys)).to_numpy(dtype=float)


def table_ephemerides(table: pa.Table, detections: pd.DataFrame | None) -> np.ndarray | None:
    """:func:`search_ephemerides` of a shard table's rows (None without detections)."""
    return None if detections is None else search_ephemerides(detections, _keys(table))


def _rows_ephemerides(ephemerides: np.ndarray | None, ok: np.ndarray) -> np.ndarray:
    """The ephemerides of the featurised rows (all NaN when none are given)."""
    if ephemerides is None:
        return np.full((int(ok.sum()), 3), np.nan)
    ephemerides = np.asarray(ephemerides, dtype=float)
    if ephemerides.shape != (len(ok), 3):
        raise ValueError(f"ephemerides of shape {ephemerides.shape}, not ({len(ok)}, 3)")
    return ephemerides[ok]


@dataclass(frozen=True)
class _Folds:
    """The good cadences of the featurised rows that fall in their row's local view:
    flat index ``cadence``, ``row``, flat bin ``index`` (``row * local_length + bin``) and
    the global sample holding the cadence (``sample``)."""

    rows: int
    cadence: np.ndarray
    row: np.ndarray
    index: np.ndarray
    sample: np.ndarray

    @classmethod
    def plan(cls, time: np.ndarray, good: np.ndarray, first_good: np.ndarray, n: np.ndarray,
             ephemerides: np.ndarray, cfg: FeatureConfig) -> _Folds:
        rank = _ragged_arange(n)
        row = np.repeat(np.arange(len(n)), n)
        cadence = np.take(good, rank + np.repeat(first_good, n))
        period, epoch, duration = (ephemerides[row, column] for column in range(3))
        offset = time[cadence] - epoch
        with np.errstate(invalid="ignore", divide="ignore"):
            phase = np.where(np.isfinite(period), (offset + 0.5 * period) % period
                             - 0.5 * period, offset)
            place = np.floor((phase / (duration * cfg.local_window) + 0.5) * cfg.local_length)
            inside = (place >= 0) & (place < cfg.local_length)
        row = row[inside]
        return cls(len(n), cadence[inside], row,
                   row * cfg.local_length + place[inside].astype(np.int64),
                   _sample_of_cadence(rank[inside], n[row], cfg))

    def channel(self, name: str, flat: dict[str, np.ndarray], dense: dict[str, np.ndarray],
                cfg: FeatureConfig, out: np.ndarray) -> None:
        """One channel's normalised local views into ``out`` (``(rows, local_length)``)."""
        if name == "centroid":
            col, row = (self._binned(flat[axis][self.cadence]
                                     - _row_nanmedian(dense[axis])[self.row], cfg)
                        for axis in ("centroid_col", "centroid_row"))
            values = np.hypot(col, row)
        else:
            values = flat["flux" if name == "flat" else name][self.cadence]
            if name == "flat":
                values = _divided(values, dense["trend"][self.row, self.sample])
            values = self._binned(values, cfg)
        values = _fill_gaps(values)
        values[np.isnan(values).all(axis=1)] = 0.0
        _normalize(values, cfg.local_normalization or cfg.normalization, out)

    def _binned(self, values: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
        """NaN-ignoring bin means, ``(rows, local_length)``; NaN where a bin is empty."""
        finite = np.isfinite(values)
        size = self.rows * cfg.local_length
        sums = np.bincount(self.index[finite], weights=values[finite], minlength=size)
        counts = np.bincount(self.index[finite], minlength=size)
        with np.errstate(invalid="ignore"):
            return (sums / counts).reshape(self.rows, cfg.local_length)


def _sample_of_cadence(rank: np.ndarray, n: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """The global-view sample holding good cadence ``rank`` of a row of ``n`` (see
    :class:`_Bins`: sample ``j`` of a binned row averages ranks ``[j n // length, (j + 1) n
    // length)``); the last sample for the cadences past a truncated row's end."""
    length = cfg.length
    binned = (n > length) & (cfg.resize == "bin")
    return np.where(binned, ((rank + 1) * length - 1) // np.maximum(n, 1),
                    np.minimum(rank, length - 1))


def _fill_gaps(values: np.ndarray) -> np.ndarray:
    """Each NaN of a ``(rows, bins)`` array replaced by its row's nearest finite value
    (the earlier one on a tie); rows with none stay NaN."""
    bins = np.arange(values.shape[1])
    finite = np.isfinite(values)
    before = np.maximum.accumulate(np.where(finite, bins, -1), axis=1)
    after = np.minimum.accumulate(np.where(finite, bins, len(bins))[:, ::-1], axis=1)[:, ::-1]
    use_after = (before < 0) | ((after < len(bins)) & (after - bins < bins - before))
    source = np.where(use_after, np.minimum(after, len(bins) - 1), np.maximum(before, 0))
    return np.take_along_axis(values, source, axis=1)

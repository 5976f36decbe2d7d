"""The batched box search over every light curve of a shard, and of its inverted copy.

Every light curve is detrended as the in-depth search detrends it, the ends of each stretch
of data trimmed, binned onto a uniform grid (``bin_minutes``, or its own cadence when
coarser) and searched together with the others of its batch: per trial period (the Ofir
grid of the in-depth search) a fold and a scan of box sums over the phase for the durations
plausible for the star (a numba kernel on the CPU; the same steps in torch on a GPU), an SDE
from the SNR spectrum, and a single-event statistic (the strongest box dip over epochs and
durations). A box's SNR is its mean dip over the scatter of box means of its width along the
light curve, so red noise and variability raise the bar. The trimmed ends get a statistic
of their own, the edge event (the strongest box dip reaching into them), so that a lone
transit there is not lost; its threshold comes from the nulls' edges. The inverted copy of
each light curve (its bins without brightenings such as flares, which would become dips,
mirrored about their median and detrended, so that its transits are clipped away and only
noise and systematics remain) goes through the same search; those
null statistics set the detection thresholds at a stated false-alarm rate.

Times are BTJD days, depths fractions of the flux.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from transitflow.detect.config import DetectConfig
from transitflow.detrend import clip_brightenings
from transitflow.kernels import cached_njit
from transitflow.lightcurve import LightCurve
from transitflow.searching import (SearchConfig, bls_spectrum, detrend_for_search,
                                   flatten_for_search, period_grid, search_durations,
                                   shortest_period, stellar_density, without_brightenings)
from transitflow.searching.periodograms import binned_with_counts, sde_spectrum
from transitflow.searching.single import SINGLE_MIN_COVERAGE, SINGLE_MIN_WINDOWS
from transitflow.searching.star import (DURATION_COEFF, MAX_DENSITY, MAX_DUTY_CYCLE,
                                        MIN_DURATION_FRACTION, MINUTES_PER_DAY)
from transitflow.signals import robust_std

#: Ratio of neighbouring box widths, and the slack either side of a star's duration range.
BOX_RATIO = 1.4
#: Box widths tried, in bins: a geometric ladder, cut per period and star.
BOX_WIDTHS = np.unique(np.round(BOX_RATIO ** np.arange(30))).astype(int)
#: Box starts per box width in the phase scan (BLS's ``oversample``).
SCAN_STEPS_PER_BOX = 3
#: The duration rule of the in-depth search (its coefficient, shortest fraction and duty
#: cycle), passed to the cached CPU kernel rather than frozen into it as constants of
#: another module, so that a change there cannot leave a stale kernel in numba's cache.
DURATION_RULE = np.array([DURATION_COEFF, MIN_DURATION_FRACTION, MAX_DUTY_CYCLE])
#: Light curves the CPU kernel folds and scans together: their bins, side by side, are the
#: vectorised inner loop and stay in cache across the trial periods.
CPU_CHUNK = 64
#: Peaks of one spectrum closer than this (relative) to a found one or a small-integer
#: ratio of it are the same signal.
PEAK_TOLERANCE = 0.01
PEAK_RATIOS = (1 / 3, 1 / 2, 2 / 3, 1.0, 3 / 2, 2.0, 3.0)
#: A light curve's period grid is that of its span rounded down to a geometric ladder of
#: this ratio (a grid step at most 2% coarser, and a longest period at most 2% shorter, than
#: its own span gives) and its star's density rounded up to one of DENSITY_LADDER (a step
#: no coarser, and a first period no later, than its density gives): light curves on the
#: same rungs share a batch, and no light curve's statistics depend on which others share
#: its shard or batch.
SPAN_LADDER = 1.02
DENSITY_LADDER = 2.0
#: Gaps longer than this (days) split a light curve into stretches whose edges are trimmed.
SEGMENT_GAP_DAYS = 0.5
#: Status of a light curve joining a star's sectors: not searched here, where its uniform
#: bins over the whole baseline would cost the square of its span, but in depth when one of
#: its sectors is raised (:func:`~transitflow.detect.policy.select_for_search`). It takes
#: its sectors' strongest signal as its ephemeris (:func:`_joined_ephemeris`).
JOINED = "joined"
JOINED_REASON = "sectors joined: searched in depth when one of its sectors is raised"
#: A sector's period, searched again over the joined baseline, within this many durations'
#: drift across the sector either side.
JOINED_PERIOD_DRIFT = 2.0
#: The copies of each light curve searched: its own data, and its inverted null.
COPIES = ("data", "inverted")
#: Fewest good cadences a light curve needs for the search.
MIN_CADENCES = 50
#: A dip found by the box statistics: (SNR, first bin, width in bins, depth); none yet.
NO_EVENT = (-np.inf, 0, 0, math.nan)
#: The statistics of one light curve: its best period's, its strongest single event's away
#: from the edges of the data and its strongest dip reaching into them.
STAT_COLUMNS = ("period", "epoch", "duration", "depth", "snr", "sde",
                "single_epoch", "single_duration", "single_depth", "single_snr",
                "edge_epoch", "edge_duration", "edge_depth", "edge_snr")


@dataclass(frozen=True)
class _Prepared:
    """One light curve ready for the batched search: binned counts and summed dips."""

    key: str
    start: float  # time of bin 0, BTJD
    width: float  # bin width, days
    counts: np.ndarray  # cadences per bin
    dips: np.ndarray  # sum of (1 - flux) per bin
    cadence: float  # days
    density: float  # solar units, NaN if unknown
    durations: np.ndarray  # the star's trial durations, days
    box_noise: np.ndarray  # per BOX_WIDTHS: the scatter of a box's mean flux (NaN: unused)
    events: dict  # the single-event and edge-event statistics

    @property
    def inverse_scale(self) -> np.ndarray:
        """Per BOX_WIDTHS, what turns (summed dips) / sqrt(counts) of a box into its SNR:
        ``1 / (box_noise sqrt(cadences in a box))``; 0 where the width is not searched."""
        cadences = BOX_WIDTHS * self.width / self.cadence
        scale = 1.0 / (self.box_noise * np.sqrt(cadences))
        return np.where(np.isfinite(scale), scale, 0.0)

    @property
    def span(self) -> float:
        return len(self.counts) * self.width


@dataclass(frozen=True)
class _Stars:
    """Per light curve of a batch: the shortest and longest trial duration (days) and the
    stellar density (solar units; MAX_DENSITY when unknown, which admits short transits)."""

    shortest: np.ndarray
    longest: np.ndarray
    density: np.ndarray
    inverse_scale: np.ndarray  # (batch x BOX_WIDTHS), see _Prepared.inverse_scale

    @classmethod
    def of(cls, group: list[_Prepared]) -> _Stars:
        return cls(np.array([p.durations[0] for p in group]),
                   np.array([p.durations[-1] for p in group]),
                   np.array([p.density if np.isfinite(p.density) else MAX_DENSITY
                             for p in group]),
                   np.array([p.inverse_scale for p in group]))


def search_batch(light_curves: Iterable[LightCurve], search: SearchConfig = SearchConfig(),
                 config: DetectConfig = DetectConfig(), invert: bool = False) -> pd.DataFrame:
    """Batched periodic, single-event and edge-event search of light curves.

    Parameters
    ----------
    light_curves : raw light curves (any flux units; flagged cadences are dropped).
    search : the in-depth search's options: period range, durations, detrending.
    config : detection options (bin width, batch size, peaks, device).
    invert : search the inverted light curves (the nulls) instead.

    Returns
    -------
    pandas.DataFrame
        One row per light curve, in input order: ``key``, ``tic``, ``sector``, ``status``
        ("ok", "failed", or :data:`JOINED` for a star's sectors joined, with an ephemeris
        but no statistics), ``reason``, the best period's ``period``, ``epoch``,
        ``duration``, ``depth``, ``snr``, ``sde``, the next independent peaks
        ``period_2``, ``sde_2``, ..., the single event's ``single_epoch``,
        ``single_duration``, ``single_depth``, ``single_snr`` and the edge event's
        ``edge_epoch``, ..., ``edge_snr`` (:func:`_edge_event`). A light
        curve that cannot be searched gets NaNs and a one-line reason naming its file; the
        others go on.
    """
    copy = "inverted" if invert else "data"
    return _search_copies(light_curves, search, config, (copy,))[copy]


def detect_shard(light_curves: list[LightCurve], search: SearchConfig,
                 config: DetectConfig) -> pd.DataFrame:
    """:func:`search_batch` of the light curves (``copy`` "data") and of their inverted
    copies (``copy`` "inverted", the nulls that set the thresholds)."""
    found = _search_copies(light_curves, search, config, COPIES)
    return pd.concat([found[copy].assign(copy=copy) for copy in COPIES], ignore_index=True)


def _search_copies(light_curves: Iterable[LightCurve], search: SearchConfig,
                   config: DetectConfig, copies: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """:func:`search_batch` of each of ``copies`` (of :data:`COPIES`) of the light curves,
    prepared together, so that each light curve's trend is computed once for them all."""
    rows: dict[str, dict[str, dict]] = {copy: {} for copy in copies}
    prepared: dict[str, list[_Prepared]] = {copy: [] for copy in copies}
    order, joined = [], []
    for lc in light_curves:
        order.append((lc.meta.key, lc.meta.tic, lc.meta.sector))
        if lc.meta.stitched:
            for copy in copies:
                rows[copy][lc.meta.key] = {"status": JOINED, "reason": JOINED_REASON}
            joined.append(lc)
            continue
        for copy, outcome in _prepare_copies(lc, search, config, copies).items():
            if isinstance(outcome, _Prepared):
                prepared[copy].append(outcome)
                rows[copy][lc.meta.key] = {}
            else:
                rows[copy][lc.meta.key] = {"status": "failed", "reason": _reason(lc, outcome)}
    device = _device(config.device)
    for copy in copies:
        for group in _groups(prepared[copy], config.batch_size):
            rows[copy].update(zip([p.key for p in group],
                                  _search_group(group, search, config, device)))
    if "data" in copies:
        spans = {p.key: p.span for p in prepared["data"]}
        for lc in joined:
            sectors = [(rows["data"][key], spans[key]) for key, tic, _ in order
                       if tic == lc.meta.tic and key in spans]
            rows["data"][lc.meta.key].update(_joined_ephemeris(lc, sectors, search, config))
    columns = ["key", "tic", "sector", "status", "reason", *STAT_COLUMNS,
               *(f"{name}_{n}" for n in range(2, config.n_peaks + 1) for name in ("period", "sde"))]
    return {copy: pd.DataFrame([{"key": key, "tic": tic, "sector": sector, "status": "ok",
                                 "reason": "", **rows[copy][key]} for key, tic, sector in order]
                               ).reindex(columns=columns) for copy in copies}


def _reason(lc: LightCurve, error: Exception) -> str:
    """Why a light curve could not be searched, in one line naming its file."""
    name = lc.meta.source_file or lc.meta.key
    return str(error) if name in str(error) else f"{name}: {error}"


def _joined_ephemeris(lc: LightCurve, sectors: list[tuple[dict, float]], search: SearchConfig,
                      config: DetectConfig) -> dict:
    """The ``period`` (inf for a single event), ``epoch``, ``duration`` and ``depth`` of a
    star's joined light curve ``lc``: the strongest signal of its ``sectors`` (their rows
    and spans in days), a periodic one's period searched again on ``lc`` (astropy BLS) within
    JOINED_PERIOD_DRIFT durations' drift across its sector (at most half the period either
    side), so that its transits in every sector line up. Its statistics stay NaN: the
    detection paths pass it by. Empty when no sector has a signal."""
    strength = [max(_statistic(row, "snr"), _statistic(row, "single_snr")) for row, _ in sectors]
    if not sectors or not np.isfinite(max(strength)):
        return {}
    row, span = sectors[int(np.argmax(strength))]
    if _statistic(row, "single_snr") > _statistic(row, "snr"):
        return {"period": math.inf, "epoch": row["single_epoch"],
                "duration": row["single_duration"], "depth": row["single_depth"]}
    good = lc.good()
    detrended = detrend_for_search(_pre_binned(good, _bin_width(good, config)[1])[0], search)
    drift = min(JOINED_PERIOD_DRIFT * row["duration"] / span, 0.5) * row["period"]
    periods = period_grid(float(np.ptp(detrended.time)), row["period"] - drift,
                          row["period"] + drift, stellar_density(lc.meta), search.oversampling)
    found = bls_spectrum(detrended, periods, search)
    if not np.isfinite(found.period):
        return {name: row[name] for name in ("period", "epoch", "duration", "depth")}
    return {"period": found.period, "epoch": found.epoch, "duration": found.duration,
            "depth": found.depth}


def _statistic(row: dict, name: str) -> float:
    """A detection row's statistic ``name``, -inf where there is none."""
    value = row.get(name, math.nan)
    return value if math.isfinite(value) else -math.inf


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _prepare_copies(lc: LightCurve, search: SearchConfig, config: DetectConfig,
                    copies: tuple[str, ...]) -> dict[str, _Prepared | Exception]:
    """Each of ``copies`` of one light curve binned and detrended (:func:`_copy_view`,
    :func:`_prepared_copy`), or the error that made it unusable (any failure of one light
    curve is that light curve's)."""
    try:
        good = lc.good()
        if len(good) < MIN_CADENCES:
            raise ValueError(f"{len(good)} good cadences, the search needs {MIN_CADENCES}")
        cadence, width = _bin_width(good, config)
        binned, weights = _pre_binned(good, width)
        flat = flatten_for_search(binned, search)
    except Exception as error:
        return dict.fromkeys(copies, error)
    outcomes = {}
    for copy in copies:
        try:
            view = _copy_view(binned, weights, flat, copy, search)
            outcomes[copy] = _prepared_copy(lc, *view, search, config, cadence, width)
        except Exception as error:
            outcomes[copy] = error
    return outcomes


def _copy_view(binned: LightCurve, weights: np.ndarray, flat: LightCurve, copy: str,
               search: SearchConfig) -> tuple[LightCurve, np.ndarray, LightCurve]:
    """A light curve's bins as ``copy`` sees them (the data's own, or its null: its bins
    without brightenings, mirrored), their weights, and the view detrended as the search
    detrends it, given the bins' trend divided out (``flat``)."""
    if copy == "data":
        return binned, weights, clip_brightenings(flat)
    kept = without_brightenings(binned, search, flat)
    mirrored = kept.inverted()
    return mirrored, weights[np.isin(binned.time, kept.time)], detrend_for_search(mirrored, search)


def _prepared_copy(lc: LightCurve, binned: LightCurve, weights: np.ndarray,
                   detrended: LightCurve, search: SearchConfig, config: DetectConfig,
                   cadence: float, width: float) -> _Prepared:
    """One copy of ``lc``: its bins (``weights`` cadences each), ``detrended``, trimmed at
    the edges and summed for the batched search; ValueError if unusable."""
    name = lc.meta.source_file or lc.meta.key
    per_bin = weights[np.searchsorted(binned.time, detrended.time)]
    near = _near_edges(detrended.time, config.edge_days)
    trimmed = detrended.select(~near)
    if len(trimmed) < MIN_CADENCES * cadence / width:
        raise ValueError(f"{name}: {len(trimmed)} bins away from the edges of the data, too "
                         f"few for the search; for data in stretches under "
                         f"{2 * config.edge_days:g} d, lower detect.edge_days")
    sigma = (robust_std(trimmed.flux.astype(np.float64))
             * math.sqrt(float(np.median(per_bin[~near]))))
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"{name}: flux has no usable scatter after detrending "
                         f"(robust sigma {sigma:.3g}, {len(trimmed)} bins)")
    durations = search_durations(search, lc.meta)
    counts, dips = _bin_sums(_bin_index(trimmed.time, width), trimmed.flux, per_bin[~near])
    box_noise, single = _box_statistics(counts, dips, width, cadence, sigma, durations)
    start = float(trimmed.time[0])
    return _Prepared(key=lc.meta.key, start=start, width=width,
                     counts=counts.astype(np.float32), dips=dips.astype(np.float32),
                     cadence=cadence, density=stellar_density(lc.meta), durations=durations,
                     box_noise=box_noise,
                     events={**_event_row(single, start, width, "single"),
                             **_edge_event(detrended, near, per_bin, width, cadence, box_noise)})


def _bin_width(good: LightCurve, config: DetectConfig) -> tuple[float, float]:
    """A light curve's cadence and the search's bin width (``bin_minutes``, or the cadence
    where coarser), in days."""
    cadence = float(np.median(np.diff(good.time)))
    return cadence, max(cadence, config.bin_minutes / MINUTES_PER_DAY)


def _bin_index(time: np.ndarray, width: float) -> np.ndarray:
    """The bin of ``width`` days of each time, bin 0 centred on the first."""
    return np.floor((time - time[0]) / width + 0.5).astype(np.int64)


def _bin_sums(index: np.ndarray, flux: np.ndarray,
              per_bin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cadences and summed dips (1 - flux) per bin (``index``, :func:`_bin_index`);
    ``per_bin`` is how many cadences each point holds."""
    return (np.bincount(index, per_bin).astype(np.float64),
            np.bincount(index, per_bin * (1.0 - flux.astype(np.float64))))


def _pre_binned(lc: LightCurve, width: float) -> tuple[LightCurve, np.ndarray]:
    """``lc`` averaged in bins of ``width`` days (unchanged when not finer), and how many
    cadences each point holds: detrending the bins costs a fraction of the cadences."""
    if np.median(np.diff(lc.time)) >= width / 2:
        return lc, np.ones(len(lc))
    time, flux, counts = binned_with_counts(lc, width)
    return LightCurve.from_arrays(lc.meta, time, flux), counts


def _near_edges(time: np.ndarray, edge_days: float) -> np.ndarray:
    """Cadences within ``edge_days`` of the start or end of a stretch of data (gaps longer
    than SEGMENT_GAP_DAYS split stretches), where detrending leaves ramps."""
    breaks = np.flatnonzero(np.diff(time) > SEGMENT_GAP_DAYS)
    starts, ends = time[np.r_[0, breaks + 1]], time[np.r_[breaks, len(time) - 1]]
    segment = np.searchsorted(starts, time, side="right") - 1
    return (time - starts[segment] < edge_days) | (ends[segment] - time < edge_days)


def _box_statistics(counts: np.ndarray, dips: np.ndarray, width: float, cadence: float,
                    sigma: float, durations: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Per box width, the scatter of box means along the light curve, and its strongest dip.

    A box's noise is the robust scatter of the mean flux of all boxes of its width with at
    least SINGLE_MIN_COVERAGE of their cadences (red noise included), never below the white
    noise ``sigma / sqrt(cadences)``; the strongest dip (SNR, start bin, width in bins,
    depth) is the single-event statistic, as the in-depth search's. Widths outside the
    star's durations (a ladder step of slack) get NaN noise.
    """
    boxes = _BoxMeans(counts, dips, width, cadence)
    noise = np.full(len(BOX_WIDTHS), np.nan)
    single = NO_EVENT
    for i, k in enumerate(BOX_WIDTHS):
        days = k * width
        if k >= len(counts) or not durations[0] / BOX_RATIO <= days <= durations[-1] * BOX_RATIO:
            continue
        depth = boxes.of_width(k)
        if np.isfinite(depth).sum() < SINGLE_MIN_WINDOWS:
            continue
        noise[i] = max(robust_std(depth[np.isfinite(depth)]), sigma / math.sqrt(days / cadence))
        single = _stronger(single, depth, noise[i], k)
    return noise, single


def _edge_event(detrended: LightCurve, near: np.ndarray, per_bin: np.ndarray, width: float,
                cadence: float, box_noise: np.ndarray) -> dict:
    """The ``edge_*`` columns of the strongest dip among the boxes reaching into the edges
    of the data (``near``), which the periodic and single-event statistics leave out: its
    SNR is against the box noise of the rest of the light curve (``box_noise``); the edge
    statistic has its own null threshold, as detrending's ramps raise its scatter."""
    index = _bin_index(detrended.time, width)
    counts, dips = _bin_sums(index, detrended.flux, per_bin)
    in_edges = np.bincount(index, near, len(counts)) > 0
    cum_edges = np.concatenate([[0], np.cumsum(in_edges)])
    boxes = _BoxMeans(counts, dips, width, cadence)
    event = NO_EVENT
    for i in np.flatnonzero(np.isfinite(box_noise)):
        k = int(BOX_WIDTHS[i])
        reaching = cum_edges[k:] > cum_edges[:-k]
        event = _stronger(event, np.where(reaching, boxes.of_width(k), np.nan), box_noise[i], k)
    return _event_row(event, float(detrended.time[0]), width, "edge")


class _BoxMeans:
    """Mean dips of boxes of consecutive bins, from cumulative sums of cadences and dips."""

    def __init__(self, counts: np.ndarray, dips: np.ndarray, width: float, cadence: float):
        self.cum_counts = np.concatenate([[0.0], np.cumsum(counts)])
        self.cum_dips = np.concatenate([[0.0], np.cumsum(dips)])
        self.width, self.cadence = width, cadence

    def of_width(self, k: int) -> np.ndarray:
        """The mean dip of every box of ``k`` bins, by first bin; NaN for a box holding
        under SINGLE_MIN_COVERAGE of the cadences its width spans."""
        n = self.cum_counts[k:] - self.cum_counts[:-k]
        covered = n >= SINGLE_MIN_COVERAGE * (k * self.width) / self.cadence
        depth = np.full(len(n), np.nan)
        depth[covered] = (self.cum_dips[k:] - self.cum_dips[:-k])[covered] / n[covered]
        return depth


def _stronger(event: tuple, depth: np.ndarray, noise: float, k: int) -> tuple:
    """``event``, or the strongest of the boxes of ``k`` bins with mean dips ``depth``
    (NaN: not eligible) if its SNR against ``noise`` is higher."""
    if not np.isfinite(depth).any():
        return event
    best = int(np.nanargmax(depth))
    if depth[best] / noise > event[0]:
        return depth[best] / noise, best, k, float(depth[best])
    return event


def _event_row(event: tuple, start: float, width: float, prefix: str) -> dict:
    """The ``<prefix>_epoch``, ``_duration``, ``_depth`` and ``_snr`` columns of a dip of
    :func:`_box_statistics` or :func:`_edge_event` on bins from ``start``."""
    names = [f"{prefix}_{name}" for name in ("epoch", "duration", "depth", "snr")]
    if not np.isfinite(event[0]):
        return dict.fromkeys(names, math.nan)
    snr, first, k, depth = event
    return dict(zip(names, (start + (first + 0.5 * k - 0.5) * width, k * width, depth,
                            float(snr))))


def _grid_key(p: _Prepared) -> tuple[float, float, float]:
    """What a light curve's period grid is made from: its bin width (minutes), its span
    rounded down to the SPAN_LADDER and its star's density rounded up to the DENSITY_LADDER
    (inf when unknown)."""
    span = SPAN_LADDER ** math.floor(math.log(p.span, SPAN_LADDER))
    density = (DENSITY_LADDER ** math.ceil(math.log(p.density, DENSITY_LADDER))
               if np.isfinite(p.density) and p.density > 0 else math.inf)
    return round(p.width * MINUTES_PER_DAY, 3), span, density


def _groups(prepared: list[_Prepared], batch_size: int) -> Iterable[list[_Prepared]]:
    """Batches of at most ``batch_size`` light curves with the same :func:`_grid_key`."""
    for _, alike in itertools.groupby(sorted(prepared, key=_grid_key), key=_grid_key):
        alike = list(alike)
        for first in range(0, len(alike), batch_size):
            yield alike[first:first + batch_size]


def _search_group(group: list[_Prepared], search: SearchConfig, config: DetectConfig,
                  device: torch.device) -> list[dict]:
    """Periodic, single-event and edge-event statistics of light curves sharing a bin
    width."""
    n_bins = max(len(p.counts) for p in group)
    counts = np.zeros((n_bins, len(group)), np.float32)
    dips = np.zeros((n_bins, len(group)), np.float32)
    for b, p in enumerate(group):
        counts[:len(p.counts), b], dips[:len(p.dips), b] = p.counts, p.dips
    periodic = _periodic(group, counts, dips, search, config, device)
    return [{**row, **p.events} for row, p in zip(periodic, group)]


def _periodic(group: list[_Prepared], counts: np.ndarray, dips: np.ndarray,
              search: SearchConfig, config: DetectConfig, device: torch.device) -> list[dict]:
    """Best period, epoch, duration, depth, SNR and SDE of each light curve, and further
    independent peaks; NaN for light curves too short for two transits."""
    _, span, density = _grid_key(group[0])
    width = group[0].width
    names = ("period", "epoch", "duration", "depth", "snr", "sde")
    periods = trial_periods(span, [density if math.isfinite(density) else math.nan], search)
    if not len(periods):
        return [dict.fromkeys(names, math.nan) for _ in group]
    stars = _Stars.of(group)
    scan = _scan_cpu if device.type == "cpu" else _scan_torch
    snr, best_width, best_start = scan(counts, dips, periods / width, stars, width, device)
    power = np.where(np.isfinite(snr), np.maximum(snr, 0.0) ** 2, 0.0).T
    spectrum, sde = sde_spectrum(power, search.oversampling)
    rows = []
    for b, p in enumerate(group):
        best = int(np.argmax(spectrum[b]))
        if not np.isfinite(snr[best, b]):
            rows.append(dict.fromkeys(names, math.nan))
            continue
        period = float(periods[best])
        start, duration, depth = _box_at(p, period, int(best_start[best, b]),
                                         int(best_width[best, b]))
        rows.append({"period": period, "epoch": start + duration / 2, "duration": duration,
                     "depth": depth, "snr": float(snr[best, b]), "sde": float(sde[b]),
                     **_other_peaks(periods, spectrum[b], period, config.n_peaks)})
    return rows


def _box_at(p: _Prepared, period: float, start: int, k: int) -> tuple[float, float, float]:
    """The first box's start time (the one in the first cycle), its duration (days) and
    depth of a box of ``k`` phase bins starting at phase bin ``start``."""
    n_phase = max(1, int(period / p.width))
    bin_days = period / n_phase
    phase = np.floor(np.modf(np.arange(len(p.counts)) / (period / p.width))[0] * n_phase)
    inside = (phase - start) % n_phase < k
    depth = p.dips[inside].sum() / max(p.counts[inside].sum(), 1.0)
    return p.start - 0.5 * p.width + start * bin_days, k * bin_days, float(depth)


def trial_periods(span: float, densities: Iterable[float], search: SearchConfig) -> np.ndarray:
    """The period grid of a batch (Ofir 2014, as the in-depth search): from the ``span`` and
    the median known stellar density (solar when none is known), from the shortest period
    of the densest star (:func:`shortest_period`; ``min_period`` when a density is unknown)
    up to half the span or ``search.max_period``. The batched search passes one density
    per batch (:func:`_grid_key`)."""
    densities = np.asarray(list(densities), dtype=float)
    known = densities[np.isfinite(densities)]
    high = search.max_period if search.max_period is not None else span / 2
    densest = math.nan if len(known) < len(densities) or not len(known) else float(known.max())
    return period_grid(span, shortest_period(search.min_period, densest), high,
                       float(np.median(known)) if len(known) else math.nan, search.oversampling)


def _box_widths(stars: _Stars, period: float, bin_days: float) -> tuple[np.ndarray, np.ndarray]:
    """Box widths (phase bins) to try at ``period`` and which light curve each suits: from
    MIN_DURATION_FRACTION of the central duration for the star's density (MAX_DENSITY when
    unknown) or its shortest trial duration, up to MAX_DUTY_CYCLE of the period or its
    longest trial duration, a ladder step of slack either side."""
    low = np.maximum(stars.shortest, MIN_DURATION_FRACTION * DURATION_COEFF
                     * (period / stars.density) ** (1 / 3))
    high = np.minimum(stars.longest, MAX_DUTY_CYCLE * period)
    days = BOX_WIDTHS * bin_days
    n_phase = round(period / bin_days)
    boxes = BOX_WIDTHS[(days >= low.min() / BOX_RATIO) & (days <= high.max() * BOX_RATIO)
                       & (BOX_WIDTHS < n_phase)]
    days = boxes[:, None] * bin_days
    return boxes, (days >= low[None, :] / BOX_RATIO) & (days <= high[None, :] * BOX_RATIO)


def _scan_cpu(counts: np.ndarray, dips: np.ndarray, bins_per_period: np.ndarray,
              stars: _Stars, width: float,
              device: torch.device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The phase scan on the CPU (numba): per trial period and light curve, the best box's
    SNR, width and starting phase bin (periods x batch), CPU_CHUNK light curves at a time."""
    shape = (len(bins_per_period), counts.shape[1])
    snr = np.empty(shape)
    best_width, best_start = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    for first in range(0, shape[1], CPU_CHUNK):
        chunk = slice(first, first + CPU_CHUNK)
        occupied = np.flatnonzero((counts[:, chunk] > 0).any(axis=1))  # gaps add nothing
        binned = np.ascontiguousarray(np.stack([counts[occupied, chunk],
                                                dips[occupied, chunk]], axis=1))
        results = (np.empty((shape[0], binned.shape[2])),
                   *(np.zeros((shape[0], binned.shape[2]), np.int64) for _ in range(2)))
        _scan_kernel(binned, occupied, bins_per_period, stars.shortest[chunk],
                     stars.longest[chunk], stars.density[chunk],
                     np.ascontiguousarray(stars.inverse_scale[chunk]), width, BOX_WIDTHS,
                     DURATION_RULE, *results)
        snr[:, chunk], best_width[:, chunk], best_start[:, chunk] = results
    return snr, best_width, best_start


@cached_njit
def _scan_kernel(binned, bins, bins_per_period, shortest, longest, density, inverse_scale,
                 width, box_widths, duration_rule, snr, best_width,
                 best_start):  # pragma: no cover - compiled
    """Numba kernel of :func:`_scan_cpu`; the same boxes and statistic as :func:`_scan_torch`.

    ``binned`` is (bins with data x 2 x chunk, float32): cadence counts and summed dips of
    the bins numbered ``bins``, folded in float32 (half the memory traffic of the hot loop)
    and cumulated in float64. The innermost loops run over the light curves of the chunk,
    which the compiler vectorises.
    """
    n_bins, _, n_lc = binned.shape
    coefficient, min_fraction, max_duty_cycle = duration_rule
    phases = int(bins_per_period.max()) + 1  # every phase bin of the longest period
    phase = np.empty(n_bins, np.int64)
    folded = np.empty((phases, 2, n_lc), np.float32)
    cumulative = np.empty((2 * phases + 1, 2, n_lc))  # wraps once: a box is under a period
    low, high = np.empty(n_lc), np.empty(n_lc)
    for i in range(len(bins_per_period)):
        per_bins = bins_per_period[i]
        n_phase = max(1, int(per_bins))
        period = per_bins * width
        for j in range(n_bins):
            cycles = bins[j] / per_bins
            phase[j] = int((cycles - np.floor(cycles)) * n_phase)
        _fold_chunk(binned, phase, n_phase, folded, cumulative)
        for b in range(n_lc):
            central = coefficient * (period / density[b]) ** (1.0 / 3.0)
            low[b] = max(shortest[b], min_fraction * central) / BOX_RATIO
            high[b] = min(longest[b], max_duty_cycle * period) * BOX_RATIO
        _best_boxes(cumulative, n_phase, period / n_phase, low, high, inverse_scale,
                    box_widths, snr[i], best_width[i], best_start[i])


@cached_njit
def _fold_chunk(binned, phase, n_phase, folded, cumulative):  # pragma: no cover - compiled
    """Fold ``binned`` into ``n_phase`` phase bins, and their cumulative sums over two
    cycles."""
    n_bins, _, n_lc = binned.shape
    folded[:n_phase] = 0.0
    for j in range(n_bins):
        at = phase[j]  # read once: the compiler cannot tell the arrays apart
        for c in range(2):
            for b in range(n_lc):
                folded[at, c, b] += binned[j, c, b]
    cumulative[0] = 0.0
    for m in range(2 * n_phase):
        for c in range(2):
            for b in range(n_lc):
                cumulative[m + 1, c, b] = cumulative[m, c, b] + folded[m % n_phase, c, b]


@cached_njit
def _best_boxes(cumulative, n_phase, bin_days, low, high, inverse_scale, box_widths, snr,
                best_width, best_start):  # pragma: no cover - compiled
    """Per light curve of the fold, the best box's SNR, width and start: of the widths
    within its ``low`` to ``high`` days, starting every SCAN_STEPS_PER_BOX-th of a width."""
    n_lc = cumulative.shape[2]
    scale, best_value = np.empty(n_lc), np.full(n_lc, -np.inf)
    best_width[:], best_start[:] = 0, 0
    for ki in range(len(box_widths)):
        k = box_widths[ki]
        if k >= n_phase or k * bin_days > high.max():
            break
        for b in range(n_lc):  # 0: the width is not tried for this light curve
            inside = low[b] <= k * bin_days <= high[b]
            scale[b] = inverse_scale[b, ki] ** 2 if inside else 0.0
        if not scale.any():
            continue
        # the best box maximises its SNR, dips / sqrt(counts) x the width's inverse
        # scale; compared squared with its sign: no square root, no unpredictable branch
        step = max(1, k // SCAN_STEPS_PER_BOX)
        for s in range(0, n_phase, step):
            for b in range(n_lc):
                box_dips = cumulative[s + k, 1, b] - cumulative[s, 1, b]
                box_counts = max(cumulative[s + k, 0, b] - cumulative[s, 0, b], 1.0)
                value = (scale[b] * box_dips * abs(box_dips) / box_counts
                         if scale[b] != 0.0 else -np.inf)
                if value > best_value[b]:
                    best_value[b], best_width[b], best_start[b] = value, k, s
    for b in range(n_lc):
        value = best_value[b]
        snr[b] = np.sign(value) * np.sqrt(abs(value)) if best_width[b] else -np.inf


def _scan_torch(counts: np.ndarray, dips: np.ndarray, bins_per_period: np.ndarray,
                stars: _Stars, width: float,
                device: torch.device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The phase scan in torch (for a GPU): one fold of the whole batch per period."""
    binned = torch.from_numpy(np.concatenate([counts, dips], axis=1)).to(device)
    shape = (len(bins_per_period), counts.shape[1])
    snr = np.full(shape, -np.inf)
    best_width, best_start = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    columns = np.arange(shape[1])
    for i, per_bins in enumerate(bins_per_period):
        n_phase = max(1, int(per_bins))
        boxes, allowed = _box_widths(stars, per_bins * width, per_bins * width / n_phase)
        if not len(boxes):
            continue
        values, starts = _fold_and_scan(binned, per_bins, n_phase, boxes)
        scale = stars.inverse_scale[:, np.searchsorted(BOX_WIDTHS, boxes)].T
        values = np.where(allowed & (scale > 0), values * scale, -np.inf)
        k = np.argmax(values, axis=0)
        snr[i], best_width[i], best_start[i] = values[k, columns], boxes[k], starts[k, columns]
    return snr, best_width, best_start


def _fold_and_scan(binned: torch.Tensor, bins_per_period: float, n_phase: int,
                   boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fold binned light curves at one period and find, per box width, the strongest dip
    over the phases: box dips over the square root of box counts, and where its box starts
    (widths x batch).

    ``binned`` is (bins x 2 batch, float32): cadence counts, then summed dips, folded in
    float32 as the CPU kernel folds them and summed over boxes in float64. A box of
    ``k`` bins starts every ``k // SCAN_STEPS_PER_BOX`` bins (every bin for narrow boxes),
    as BLS oversamples each duration.
    """
    n_bins, double = binned.shape
    batch = double // 2
    phase = torch.floor(torch.frac(torch.arange(n_bins, device=binned.device,
                                                dtype=torch.float64) / bins_per_period)
                        * n_phase).long()
    folded = torch.zeros((n_phase, double), device=binned.device,
                         dtype=binned.dtype).index_add_(0, phase, binned).double()
    extended = torch.cat([folded, folded[:int(boxes.max())]])
    best, where = [], []
    for k, sums in zip(boxes.tolist(), _box_sums(extended, boxes, n_phase)):
        value, start = (sums[:, batch:] / torch.sqrt(sums[:, :batch].clamp_(min=1.0))).max(dim=0)
        best.append(value)
        where.append(start * max(1, k // SCAN_STEPS_PER_BOX))
    return torch.stack(best).cpu().numpy(), torch.stack(where).cpu().numpy()


def _box_sums(values: torch.Tensor, boxes: np.ndarray, n_starts: int) -> list[torch.Tensor]:
    """Sums of ``k`` consecutive rows of ``values`` for each ``k`` in ``boxes``, starting
    every ``k // SCAN_STEPS_PER_BOX`` rows below ``n_starts``.

    Built from sums over power-of-two windows (one add per doubling, one per set bit of
    ``k``): a cumulative sum along the rows costs several times more on the CPU.
    """
    windows = {1: values}
    while 2 * max(windows) <= boxes.max():
        size = max(windows)
        windows[2 * size] = windows[size][:-size] + windows[size][size:]
    sums = []
    for k in boxes.tolist():
        step = max(1, k // SCAN_STEPS_PER_BOX)
        total, offset = None, 0
        for size in sorted(windows, reverse=True):
            if k - offset >= size:
                part = windows[size][offset:offset + n_starts:step]
                total = part.clone() if total is None else total.add_(part)
                offset += size
        sums.append(total)
    return sums


def _other_peaks(periods: np.ndarray, spectrum: np.ndarray, best: float,
                 n_peaks: int) -> dict:
    """``period_n`` and ``sde_n`` of the next peaks, each away from the ones before and
    their small-integer ratios."""
    found, values = [best], {}
    free = np.ones(len(periods), bool)
    for n in range(2, n_peaks + 1):
        for period in found[-1:]:
            for ratio in PEAK_RATIOS:
                free &= np.abs(periods / (period * ratio) - 1.0) > PEAK_TOLERANCE
        if not free.any():
            values.update({f"period_{n}": math.nan, f"sde_{n}": math.nan})
            continue
        pick = int(np.argmax(np.where(free, spectrum, -np.inf)))
        found.append(float(periods[pick]))
        values.update({f"period_{n}": float(periods[pick]), f"sde_{n}": float(spectrum[pick])})
    return values

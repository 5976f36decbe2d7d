"""Epochs crowded with the events of many stars: the Kepler DR25 Skye metric for a sector.

A systematic that touches many stars at once (a pointing excursion, a scattered-light
glint) gives each of them a dip at the same time, which a search of every light curve
finds as single transits or as signals of a few events. Real transits fall at independent
times. So the events of a sector's few-event signals are binned in time, each star counted
once per bin; a bin is crowded when it holds more stars than a binomial draw at the
sector's typical rate would give, at ``false_alarm`` (Thompson et al. 2018, A.3.7.4), and
more than twice the typical count, so that an event in it is more likely the systematic's
than a real transit. DR25 bins half days; here the bins are three hours, on two grids half
a bin apart, since a systematic's dips crowd a few hours (a dump, an orbit's edge) and a
half-day bin that holds them also holds a hundred real transits and more when a sector has
thousands of stars. Vetting drops the events in crowded bins and fails a signal whose
other events fall below the SNR threshold (:func:`transitflow.vetting.events.systematics`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binom, trim_mean

from transitflow.lightcurve import STITCHED_SECTOR, LightCurve

#: Quality bit of the cadences in crowded epochs, set before vetting.
CROWDED_EPOCH_BIT = 1 << 29
#: Bin width in days, the grids' offsets (a systematic straddling one grid's bin edge fills
#: a bin of the other) and the most events a signal may have to count: a systematic shows
#: up as single transits or signals of a few events.
BIN_DAYS = 0.125
GRID_OFFSETS = (0.0, 0.5 * BIN_DAYS)
MAX_EVENTS = 3
#: The least share of a crowded bin's stars above the typical count: at one half, an event
#: in a crowded bin is more likely the systematic's than a real transit.
MIN_EXCESS_SHARE = 0.5
#: The typical stars per bin: the mean of the bins but the fullest tenth (crowded ones)
#: and the emptiest tenth (so that the mean stays unbiased).
TRIMMED = 0.1


@dataclass(frozen=True)
class CrowdedEpochs:
    """The crowded bins of each sector and the statistics that set them.

    ``windows`` holds disjoint ``(start, stop)`` BTJD covering the crowded bins (overlapping
    and touching ones merged); ``sectors`` per sector the stars counted, the typical stars
    per bin, the threshold and the crowded bins (start, stars).
    """

    windows: tuple[tuple[float, float], ...]
    sectors: dict[int, dict]

    def to_dict(self) -> dict:
        return {"bin_days": BIN_DAYS, "grid_offsets": list(GRID_OFFSETS),
                "max_events": MAX_EVENTS, "min_excess_share": MIN_EXCESS_SHARE,
                "windows": [list(window) for window in self.windows],
                "sectors": {str(sector): stats for sector, stats in self.sectors.items()}}

    @classmethod
    def from_dict(cls, document: dict) -> CrowdedEpochs:
        return cls(tuple(tuple(window) for window in document.get("windows", [])),
                   {int(sector): stats for sector, stats in document.get("sectors", {}).items()})

    @classmethod
    def read(cls, path: str | Path) -> CrowdedEpochs:
        """The crowded epochs the ``crowded_epochs`` stage wrote (a JSON document)."""
        return cls.from_dict(json.loads(Path(path).read_text()))


def crowded_epochs(signals: pd.DataFrame, false_alarm: float) -> CrowdedEpochs:
    """The crowded bins of the sectors of ``signals`` (a search's signal table: ``tic``,
    ``sector``, ``n_transits``, ``transit_times``) at ``false_alarm`` per bin (0: none)."""
    events = _star_events(signals)
    starts, sectors = [], {}
    for sector, group in events.groupby("sector"):
        stats = _sector_bins(group, false_alarm)
        sectors[int(sector)] = stats
        starts += [start for start, _ in stats["crowded"]]
    return CrowdedEpochs(_merged_windows(sorted(starts)), sectors)


def _star_events(signals: pd.DataFrame) -> pd.DataFrame:
    """One row per event of a few-event signal: star, sector and time (signals of joined
    sectors left out: their events are their sectors')."""
    rows = []
    if len(signals):
        few = signals[signals["n_transits"].between(1, MAX_EVENTS)
                      & (signals["sector"] != STITCHED_SECTOR)]
        rows = [(tic, sector, float(t)) for tic, sector, times in
                zip(few["tic"], few["sector"], few["transit_times"]) for t in times
                if math.isfinite(t)]
    return pd.DataFrame(rows, columns=["tic", "sector", "time"])


def _sector_bins(events: pd.DataFrame, false_alarm: float) -> dict:
    """The threshold of one sector (binomial at ``false_alarm``, and at least the typical
    count over one less :data:`MIN_EXCESS_SHARE`: twice it) and its bins above it."""
    stars = int(events["tic"].nunique())
    counts = pd.concat([_grid_counts(events, offset) for offset in GRID_OFFSETS])
    typical = float(trim_mean(counts, TRIMMED))
    if false_alarm <= 0 or typical <= 0:
        return {"stars": stars, "typical_per_bin": typical, "threshold": None, "crowded": []}
    threshold = max(int(binom.ppf(1.0 - false_alarm, stars, typical / stars)),
                    math.floor(typical / (1.0 - MIN_EXCESS_SHARE)))
    crowded = counts[counts > threshold].sort_index()
    return {"stars": stars, "typical_per_bin": typical, "threshold": threshold,
            "crowded": [[float(start), int(n)] for start, n in crowded.items()]}


def _grid_counts(events: pd.DataFrame, offset: float) -> pd.Series:
    """Stars with an event in each bin of the grid starting at ``offset`` days, indexed by
    the bins' start times, empty bins between the first and the last included."""
    index = np.floor((events["time"] - offset) / BIN_DAYS).astype(int)
    counts = events.assign(bin=index).drop_duplicates(["tic", "bin"]).groupby("bin").size()
    span = np.arange(counts.index.min(), counts.index.max() + 1)
    counts = counts.reindex(span, fill_value=0)
    return counts.set_axis(span * BIN_DAYS + offset)


def _merged_windows(starts: list[float]) -> tuple[tuple[float, float], ...]:
    """Disjoint ``(start, stop)`` windows covering the bins starting at sorted ``starts``."""
    windows: list[list[float]] = []
    for start in starts:
        if windows and start <= windows[-1][1]:
            windows[-1][1] = start + BIN_DAYS
        else:
            windows.append([start, start + BIN_DAYS])
    return tuple((start, stop) for start, stop in windows)


def mark_crowded(lc: LightCurve, epochs: CrowdedEpochs) -> LightCurve:
    """``lc`` with :data:`CROWDED_EPOCH_BIT` set on its cadences in crowded bins."""
    if not epochs.windows:
        return lc
    starts, stops = np.array(epochs.windows).T
    inside = np.searchsorted(starts, lc.time, side="right") - 1
    crowded = (inside >= 0) & (lc.time < stops[np.clip(inside, 0, None)])
    return replace(lc, quality=np.where(crowded, lc.quality | CROWDED_EPOCH_BIT, lc.quality))

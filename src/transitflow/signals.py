"""Typed results passed from the search to vetting and the candidate tables."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from transitflow.lightcurve import CROWDING_CORRECTED, LightCurveMeta, lightcurve_key

NAN = float("nan")
R_SUN_IN_R_EARTH = 109.076
#: Kepler's third law in solar units, a / R_sun = KEPLER_A_RSUN (M / M_sun)^(1/3) (P / day)^(2/3):
#: (G M_sun day^2 / 4 pi^2)^(1/3) / R_sun with the IAU 2015 nominal values.
KEPLER_A_RSUN = 4.2083
PERIOD_TOLERANCE = 0.01  # relative: same period, or half or double it
PERIOD_RATIOS = (0.5, 1.0, 2.0)
#: Dispositions of a vetted signal, in the order tables and reports list them.
DISPOSITIONS = ("PC", "EB", "BEB", "SYSTEMATIC", "LOW_SNR")
#: Training labels: the network learns planet against the other two.
TRAINING_LABELS = ("planet", "eb", "non_transit")
#: Robust standard deviation from the median absolute deviation (Gaussian noise).
MAD_TO_STD = 1.4826
#: Expected-SNR bins (lower edges) of the completeness and truth-recall tables.
SNR_BINS = (0.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0)


def snr_bin_label(low: float) -> str:
    """The expected-SNR bin of :data:`SNR_BINS` starting at ``low``: "7-10", the last ">= 50"."""
    above = [edge for edge in SNR_BINS if edge > low]
    return f"{low:g}-{above[0]:g}" if above else f">= {low:g}"


def binned_means(frame: pd.DataFrame, column: str, edges, means) -> pd.DataFrame:
    """Rows of ``frame`` binned by ``column`` at ``edges`` (each bin closed on the left): per
    bin its edges ``low`` and ``high``, the rows ``n`` and the mean of each column in
    ``means`` (NaN for an empty bin)."""
    edges = list(edges)
    bins = pd.cut(frame[column], edges, right=False)
    table = frame.groupby(bins, observed=False).agg(
        n=(column, "size"), **{name: (name, "mean") for name in means})
    return table.reset_index(drop=True).assign(low=edges[:-1], high=edges[1:])[
        ["low", "high", "n", *means]]


def injected_with_transit(injections: pd.DataFrame) -> pd.DataFrame:
    """The injected copies of a completeness table (not its null copies) with a transit in
    the data."""
    return injections[(injections["copy"] == "injected") & (injections["n_transits"] >= 1)]


def shares_by_snr(frame: pd.DataFrame, means) -> pd.DataFrame:
    """Rows of ``frame`` per expected-SNR bin (:data:`SNR_BINS`, the last open): ``snr_low``,
    the rows ``n`` and the mean of each column in ``means``."""
    table = binned_means(frame, "snr", [*SNR_BINS, np.inf], means)
    return table.rename(columns={"low": "snr_low"})[["snr_low", "n", *means]]


def robust_std(values: np.ndarray) -> float:
    """Standard deviation from the median absolute deviation."""
    return float(MAD_TO_STD * np.median(np.abs(values - np.median(values))))


def has_period(period: float) -> bool:
    """Whether ``period`` is an orbital period: finite and positive (NaN for a single event)."""
    return math.isfinite(period) and period > 0


def inverse_variance_mean(values: np.ndarray, errs: np.ndarray) -> tuple[float, float]:
    """The inverse-variance weighted mean of ``values`` with errors ``errs``, and its error."""
    total = float(np.sum(errs ** -2.0))
    return float(np.sum(values * errs ** -2.0) / total), 1.0 / math.sqrt(total)


def scaled_semi_major_axis(density: float, period):
    """a/R* of an orbit of ``period`` days around a star of ``density`` (solar units)."""
    return KEPLER_A_RSUN * density ** (1 / 3) * period ** (2 / 3)


def orbital_period(density: float, a_rs: float) -> float:
    """The period, days, of an orbit ``a_rs`` stellar radii out around a star of ``density``
    (solar units): :func:`scaled_semi_major_axis` solved for the period."""
    return (a_rs / KEPLER_A_RSUN) ** 1.5 / math.sqrt(density)


def coincidence_chance(window: float, period: float, events: int) -> float:
    """The chance that each of ``events`` times at random phases falls within ``window``
    days of an event of a signal of ``period`` days."""
    return min(1.0, 2.0 * window / period) ** events


def transit_offset(time: np.ndarray, period: float, epoch: float) -> np.ndarray:
    """Days from the nearest transit mid-time ``epoch + n period``; from ``epoch`` when
    there is no period."""
    if not has_period(period):
        return time - epoch
    half = 0.5 * period
    return (time - epoch + half) % period - half


@dataclass(frozen=True)
class Signal:
    """One transit-like signal found in one light curve.

    Times are BTJD days, ``duration`` in days, ``depth`` a fraction of the flux.
    A single transit has ``kind == "single"`` and a NaN period and SDE.
    """

    tic: int
    sector: int
    index: int  # 0 for the strongest signal of a light curve, 1 for the next, ...
    kind: str  # "periodic" or "single"
    method: str  # "bls", "tls" or "single_event"
    period: float
    epoch: float
    duration: float
    depth: float
    depth_err: float
    snr: float
    sde: float
    n_transits: int  # transits with data
    transit_times: tuple[float, ...] = ()
    transit_depths: tuple[float, ...] = ()
    radius_earth: float = float("nan")  # planet radius from the stellar radius, NaN if unknown

    @property
    def periodic(self) -> bool:
        """Whether the signal has a period (a single transit has none)."""
        return has_period(self.period)

    def offset(self, time: np.ndarray) -> np.ndarray:
        """Days from the signal's nearest transit mid-time."""
        return transit_offset(time, self.period, self.epoch)

    @property
    def lightcurve_key(self) -> str:
        """The key of the light curve the signal was found in."""
        return lightcurve_key(self.tic, self.sector)

    @property
    def key(self) -> str:
        return f"{self.lightcurve_key}-{self.index}"

    def to_row(self) -> dict:
        row = asdict(self)
        row["transit_times"] = list(self.transit_times)
        row["transit_depths"] = list(self.transit_depths)
        return row

    @classmethod
    def from_row(cls, row: dict) -> Signal:
        names = cls.__dataclass_fields__
        values = {name: row[name] for name in names if name in row}
        values["transit_times"] = tuple(float(t) for t in values.get("transit_times", ()))
        values["transit_depths"] = tuple(float(d) for d in values.get("transit_depths", ()))
        return cls(**values)


def planet_radius_earth(depth: float, meta: LightCurveMeta) -> float:
    """R_p = R_* sqrt(depth), the depth undiluted first, depth / (1 - c) with c the
    contaminating flux fraction, unless the flux is already corrected for crowding
    (:data:`~transitflow.lightcurve.CROWDING_CORRECTED`); NaN when R_* is unknown."""
    if not (np.isfinite(meta.radius) and np.isfinite(depth)) or depth <= 0:
        return float("nan")
    c = meta.contamination
    diluted = meta.flux_column not in CROWDING_CORRECTED and np.isfinite(c) and 0 <= c < 1
    undiluted = depth / (1.0 - c) if diluted else depth
    return meta.radius * math.sqrt(undiluted) * R_SUN_IN_R_EARTH


def ephemeris_errors(duration: float, depth: float, snr: float,
                     cycles: Sequence[float]) -> tuple[float, float, float]:
    """1-sigma errors (days) of the period, the first epoch and the duration of transits
    measured with total ``snr``, after Carter et al. (2008, eqs. 18-19): a central transit
    (ingress = duration x sqrt(depth), at most half of it), each event timed to sqrt(n)
    times the combined error, and the events' times at their ``cycles`` (orbit numbers,
    gaps allowed) fitted by a line. The period error is NaN below two cycles; everything NaN
    without a positive SNR or any cycle."""
    cycles = np.asarray(cycles, dtype=np.float64)
    n = len(cycles)
    if not (snr > 0 and n >= 1 and duration > 0):
        return NAN, NAN, NAN
    ingress_share = min(math.sqrt(max(depth, 0.0)), 0.5)
    scale = duration / snr
    one_event = scale * math.sqrt(ingress_share / 2.0) * math.sqrt(n)
    spread = float(np.sum((cycles - cycles.mean()) ** 2))
    if spread == 0:
        return NAN, one_event / math.sqrt(n), scale * math.sqrt(2.0 * ingress_share)
    first = (cycles.min() - cycles.mean()) ** 2 / spread
    return (one_event / math.sqrt(spread), one_event * math.sqrt(1.0 / n + first),
            scale * math.sqrt(2.0 * ingress_share))


@dataclass(frozen=True)
class VetResult:
    """One vetting test on one signal: a metric, its significance, a flag and why."""

    test: str
    metric: float
    significance: float  # in sigma, NaN where the test has none
    flag: bool  # True when the test argues against a planet on the target
    reason: str  # one line a person can read, e.g. "odd/even depths differ by 5.2 sigma"
    extra: dict = field(default_factory=dict)  # further named numbers, e.g. secondary phase


def periods_match(period: float, other: float) -> bool:
    """Whether ``period`` is ``other``, half or double it, within :data:`PERIOD_TOLERANCE`."""
    return period_mismatch(period, other) <= PERIOD_TOLERANCE


def period_mismatch(period: float, other: float) -> float:
    """How far ``period`` is from ``other``, half or double it, whichever is nearest, as a
    fraction of it; inf without two finite positive periods."""
    if not (np.isfinite(period) and np.isfinite(other) and other > 0):
        return math.inf
    return min(abs(period / other / ratio - 1) for ratio in PERIOD_RATIOS)


def recovering(found: pd.DataFrame | None, planted: Mapping) -> pd.DataFrame:
    """The rows of ``found`` (signals or candidates of one star: ``period``, ``epoch``) that
    recover a planted signal (``period``, NaN for a single event; ``epoch``, ``duration``):
    at its period (or half or double it), or a single event on one of its events."""
    if found is None:
        return pd.DataFrame(columns=["disposition"])
    offset = found["epoch"] - planted["epoch"]
    if not np.isfinite(planted["period"]):
        return found[(offset.abs() < planted["duration"]).to_numpy()]
    period = planted["period"]
    at_period = np.array([periods_match(p, period) for p in found["period"]], dtype=bool)
    on_event = found["period"].isna() & (
        np.abs(transit_offset(found["epoch"], period, planted["epoch"])) < planted["duration"])
    return found[at_period | on_event.to_numpy()]

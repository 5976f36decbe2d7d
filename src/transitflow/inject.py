"""Injected training examples, made from non-transit light curves on their raw cadences.

Three kinds of injection turn a non-transit *host* light curve into a new example:

- a *signal* injection (Salinas et al. 2025) multiplies the host's flux by the relative flux
  of a *donor* light curve, a planet (the example is a positive) or an eclipsing binary (a
  negative), and adds the donor's centroid offsets to the host's centroid, so that a
  background binary keeps its centroid motion;
- a *transit* injection multiplies the host's flux by a limb-darkened transit model
  (:func:`transitflow.simulate.transit_model`) with a random period, radius, impact parameter
  and limb darkening (a positive); the drawn parameters come back for recovery studies;
- an *eclipse* injection multiplies it by a model detached eclipsing binary
  (:func:`transitflow.simulate.binaries.draw_binary`) of any period, to beyond the span (a
  negative).

All work on the raw cadences of shard rows (:mod:`transitflow.shards`, as :data:`Rows`)
before featurisation, so an injected example goes through exactly the same
:mod:`transitflow.features` code as a real one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from transitflow.lightcurve import LightCurve
from transitflow.shards import shard_schema
from transitflow.signals import transit_offset
from transitflow.options import options_from_dict
from transitflow.simulate import (grazing_impact, inclination_deg, log_uniform,
                                  semi_major_axis_rsun, transit_duration, transit_model)
from transitflow.simulate.binaries import MAX_EB_IMPACT, draw_binary

#: Columns of the table of transit injections, one row per injected light curve.
TRANSIT_COLUMNS = ("period", "epoch", "rp_rs", "a_rs", "impact", "u1", "u2", "duration",
                   "depth", "snr", "n_transits")
_MIN_A_RS = 2.0  # keeps short periods around large stars outside the star
#: Semi-major axis of an injected binary, stellar radii, at least: two equal stars' radii
#: summed, so that no two stars overlap.
MIN_BINARY_A_RS = 2.0
#: Shallowest primary eclipse of a diluted injected binary (a 1,000 ppm dip, a sub-Jovian's
#: transit around a Sun-like star).
MIN_DILUTED_DEPTH = 1e-3


@dataclass(frozen=True)
class TransitPrior:
    """Distribution of injected transits.

    The defaults are broader than any one simulated sector, so that the network learns
    transits rather than one simulator's planets: periods from 0.2 d to beyond a TESS sector
    (single transits), radius ratios up to 0.55 (a ~30% deep giant around an M dwarf) and a
    share of grazing, V-shaped transits.

    Parameters
    ----------
    period_range : tuple of float
        Days; the period is log-uniform in it.
    rp_rs_range : tuple of float
        Planet-to-star radius ratio, log-uniform in it above the radius reaching ``min_snr``.
    max_impact : float
        The impact parameter of a non-grazing transit is uniform in ``[0, max_impact]``.
    grazing_fraction : float
        Share of grazing transits (:func:`transitflow.simulate.grazing_impact`).
    min_snr : float
        Expected white-noise SNR of the injected transits, at least (0: any radius).

    Limb darkening is uniform in Kipping's (2013) ``q1, q2`` and the epoch is a random good
    cadence, so every injected light curve has at least one transit with data.
    """

    period_range: tuple[float, float] = (0.2, 40.0)
    rp_rs_range: tuple[float, float] = (0.01, 0.55)
    max_impact: float = 0.9
    grazing_fraction: float = 0.15
    min_snr: float = 7.0

    def __post_init__(self) -> None:
        for name in ("period_range", "rp_rs_range"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"transit prior {name} must be (low, high) with 0 < low <= high, "
                                 f"got {(low, high)}")
            object.__setattr__(self, name, (float(low), float(high)))
        if not 0 <= self.max_impact <= 1 or not 0 <= self.grazing_fraction <= 1:
            raise ValueError("transit prior max_impact and grazing_fraction must be in [0, 1]")
        if self.min_snr < 0:
            raise ValueError(f"transit prior min_snr must be >= 0, got {self.min_snr}")

    @classmethod
    def from_dict(cls, options: dict) -> TransitPrior:
        """The prior from a mapping; unknown keys are an error."""
        return options_from_dict(cls, options, "transit_prior")


#: The columns of light curves that injection and featurisation read: metadata, cadences.
META_COLUMNS = ("tic", "sector", "mass", "radius")
CADENCE_COLUMNS = ("time", "quality", "flux", "centroid_col", "centroid_row", "background")
#: Light curves as shard columns: a metadata column maps to one array of all the light
#: curves, a cadence column to one array per light curve.
Rows = dict[str, list[np.ndarray] | np.ndarray]


def lightcurve_rows(light_curves: list[LightCurve]) -> Rows:
    """Light curves as :data:`Rows`."""
    rows: Rows = {name: np.array([getattr(lc.meta, name) for lc in light_curves])
                  for name in META_COLUMNS}
    rows.update({name: [getattr(lc, name) for lc in light_curves] for name in CADENCE_COLUMNS})
    return rows


def rows_table(rows: Rows) -> pa.Table:
    """:data:`Rows` as a table with the shard schema's fields (:mod:`transitflow.shards`)."""
    schema = pa.schema([shard_schema().field(name) for name in rows])
    columns = []
    for field, values in zip(schema, rows.values()):
        if pa.types.is_large_list(field.type):
            value_type = field.type.value_type
            offsets = np.concatenate([[0], np.cumsum([len(row) for row in values])])
            flat = np.concatenate(values) if len(values) else np.empty(0)
            columns.append(pa.LargeListArray.from_arrays(
                pa.array(offsets, pa.int64()),
                pa.array(flat.astype(value_type.to_pandas_dtype()), value_type)))
        else:
            columns.append(pa.array(values, field.type))
    return pa.table(columns, schema=schema)


def slice_rows(rows: Rows, start: int, stop: int | None = None) -> Rows:
    """Rows ``start`` to ``stop`` (exclusive)."""
    return {name: values[start:stop] for name, values in rows.items()}


def concat_rows(parts: list[Rows]) -> Rows:
    """The rows of ``parts`` (with the same columns), one after another."""
    return {name: ([row for part in parts for row in part[name]]
                   if isinstance(parts[0][name], list)
                   else np.concatenate([part[name] for part in parts]))
            for name in parts[0]}


def good_cadences(rows: Rows, bitmask: int) -> list[np.ndarray]:
    """Per row, the cadences that featurisation keeps: unflagged, finite time and flux."""
    return [((quality & bitmask) == 0) & np.isfinite(time) & np.isfinite(flux)
            for time, flux, quality in zip(rows["time"], rows["flux"], rows["quality"])]


def inject_signals(hosts: Rows, donors: Rows, bitmask: int) -> Rows:
    """Row ``i`` of ``hosts`` carrying the signal of row ``i`` of ``donors``.

    The donor's relative flux and centroid offsets (:func:`donor_signal`) on its good
    cadences are read at the host's elapsed time since its first cadence, wrapping around
    the donor's span; the host's flux is multiplied by the former, its centroid shifted by
    the latter.
    """
    injected = dict(hosts)
    donor_good = good_cadences(donors, bitmask)
    for name in ("flux", "centroid_col", "centroid_row"):
        combine = np.multiply if name == "flux" else np.add
        injected[name] = [
            combine(host, _on_host_time(time, donor_time[good], donor_signal(name, donor[good])))
            for host, time, donor, donor_time, good in zip(
                hosts[name], hosts["time"], donors[name], donors["time"], donor_good)]
    return injected


def donor_signal(name: str, values: np.ndarray) -> np.ndarray:
    """A donor's flux over its median, or its centroid offsets from their median (0 where
    missing)."""
    if name == "flux":
        return values / np.median(values)
    finite = np.isfinite(values)
    offsets = values - (np.median(values[finite]) if finite.any() else 0.0)
    return np.where(finite, offsets, 0.0)


def _on_host_time(host_time: np.ndarray, donor_time: np.ndarray,
                  values: np.ndarray) -> np.ndarray:
    """``values`` (at ``donor_time``) read at the host's elapsed times, wrapping around."""
    elapsed = donor_time - donor_time[0]
    span = elapsed[-1] + np.median(np.diff(elapsed))
    return np.interp((host_time - np.nanmin(host_time)) % span, elapsed, values)


def inject_transits(hosts: Rows, rng: np.random.Generator, bitmask: int,
                    prior: TransitPrior = TransitPrior()) -> tuple[Rows, dict[str, np.ndarray]]:
    """Each row of ``hosts`` with a random transit (:func:`draw_transit`) multiplied in.

    Returns
    -------
    hosts : Rows
    transits : dict of numpy.ndarray
        The drawn parameters (:data:`TRANSIT_COLUMNS`), one value per host.
    """
    fluxes, drawn = [], []
    for time, flux, good, mass, radius in zip(hosts["time"], hosts["flux"],
                                              good_cadences(hosts, bitmask), hosts["mass"],
                                              hosts["radius"]):
        params = draw_transit(time[good], flux[good] / np.median(flux[good]), rng, prior,
                              or_sun(mass), or_sun(radius))
        fluxes.append(flux * transit_flux(time, params))
        drawn.append(params)
    return {**hosts, "flux": fluxes}, {name: np.array([params[name] for params in drawn])
                                       for name in TRANSIT_COLUMNS}


def or_sun(value: float) -> float:
    """A stellar mass or radius in solar units, 1 where unknown."""
    return float(value) if np.isfinite(value) and value > 0 else 1.0


def draw_transit(time: np.ndarray, relative_flux: np.ndarray, rng: np.random.Generator,
                 prior: TransitPrior, stellar_mass: float = 1.0,
                 stellar_radius: float = 1.0) -> dict[str, float]:
    """Random transit parameters for a light curve's good cadences.

    The radius ratio is log-uniform between the larger of ``prior.rp_rs_range[0]`` and the
    ratio whose ``rp_rs ** 2`` depth reaches ``prior.min_snr`` against the light curve's
    white noise (the upper end when that exceeds it) and ``prior.rp_rs_range[1]``. Limb
    darkening and grazing geometry make the model's depth smaller than ``rp_rs ** 2``, so
    the ``snr`` returned (from the model's depth) may fall below ``min_snr``.

    Returns
    -------
    dict
        :data:`TRANSIT_COLUMNS` (days, radii of the star).
    """
    period = log_uniform(rng, *prior.period_range)
    a_rs = orbit_a_rs(period, stellar_mass, stellar_radius)
    grazing = rng.random() < prior.grazing_fraction
    impact = rng.uniform(0.0, prior.max_impact)
    q1, q2 = rng.random(2)
    epoch = float(time[rng.integers(len(time))])
    sigma = white_noise(relative_flux)
    n_in = in_transit(time, period, epoch, transit_duration(period, a_rs, impact)).sum()
    low, high = prior.rp_rs_range
    low = min(max(low, math.sqrt(prior.min_snr * sigma / math.sqrt(max(n_in, 1)))), high)
    rp_rs = log_uniform(rng, low, high) if low < high else high
    if grazing:
        impact = grazing_impact(rng, rp_rs)
    return transit_params(time, sigma, period, epoch, rp_rs, a_rs, impact, (q1, q2))


def orbit_a_rs(period: float, stellar_mass: float, stellar_radius: float) -> float:
    """Semi-major axis in stellar radii of a circular orbit (at least ``_MIN_A_RS``)."""
    return max(semi_major_axis_rsun(stellar_mass, period) / stellar_radius, _MIN_A_RS)


def transit_params(time: np.ndarray, sigma: float, period: float, epoch: float, rp_rs: float,
                   a_rs: float, impact: float, q: tuple[float, float]) -> dict[str, float]:
    """:data:`TRANSIT_COLUMNS` of a transit over the cadences ``time`` with white noise
    ``sigma``; limb darkening from Kipping's (2013) ``q = (q1, q2)``."""
    duration = transit_duration(period, a_rs, impact, rp_rs)
    inside = in_transit(time, period, epoch, duration)
    events = np.unique(np.round((time[inside] - epoch) / period))
    u1, u2 = quadratic_limb_darkening(*q)
    params = {"period": period, "epoch": epoch, "rp_rs": rp_rs, "a_rs": a_rs, "impact": impact,
              "u1": u1, "u2": u2, "duration": duration, "n_transits": len(events)}
    params["depth"] = transit_depth(params, _cadence_minutes(time))
    params["snr"] = params["depth"] * math.sqrt(inside.sum()) / sigma
    return params


def quadratic_limb_darkening(q1: float, q2: float) -> tuple[float, float]:
    """Quadratic coefficients ``(u1, u2)`` of Kipping's (2013) ``q1, q2`` (each in [0, 1])."""
    return 2.0 * math.sqrt(q1) * q2, math.sqrt(q1) * (1.0 - 2.0 * q2)


def inject_eclipses(hosts: Rows, rng: np.random.Generator, bitmask: int,
                    period_range: tuple[float, float],
                    diluted_fraction: float = 0.0) -> tuple[Rows, np.ndarray]:
    """Each row of ``hosts`` with a random detached eclipsing binary on the target
    (:func:`transitflow.simulate.binaries.draw_binary`: primary and secondary eclipses,
    ellipsoidal variation) multiplied in, its period log-uniform in ``period_range`` (days;
    beyond the span, one or two eclipses), a primary eclipse at a random good cadence; a
    share ``diluted_fraction`` of them diluted by third light (:func:`diluted`).

    Returns
    -------
    hosts : Rows
    ephemerides : numpy.ndarray
        ``(rows, 3)``: each binary's period, primary epoch and eclipse duration (days).
    """
    fluxes, ephemerides = [], []
    for time, flux, good, mass, radius in zip(hosts["time"], hosts["flux"],
                                              good_cadences(hosts, bitmask), hosts["mass"],
                                              hosts["radius"]):
        good_time = time[good]
        mass, radius = or_sun(mass), or_sun(radius)
        binary = draw_binary(rng, mass, radius, quadratic_limb_darkening(*rng.random(2)),
                             binary_periods(period_range, mass, radius), MAX_EB_IMPACT,
                             lambda _: float(good_time[rng.integers(len(good_time))]))
        signal = binary.eclipses(time, _cadence_minutes(time)) * binary.ellipsoidal(time)
        if diluted_fraction and rng.random() < diluted_fraction:
            signal = diluted(signal, rng)
        fluxes.append(flux * signal)
        ephemerides.append((binary.period, binary.epoch, binary.duration))
    return {**hosts, "flux": fluxes}, np.array(ephemerides, dtype=float).reshape(-1, 3)


def diluted(signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A binary's relative flux ``signal`` under third light (a bound or unresolved
    companion), its deepest point log-uniform between :data:`MIN_DILUTED_DEPTH` and its own
    depth: eclipses as shallow as planets' transits, with their shape and secondaries."""
    depth = 1.0 - float(np.nanmin(signal))
    if depth <= MIN_DILUTED_DEPTH:
        return signal
    share = log_uniform(rng, MIN_DILUTED_DEPTH, depth) / depth
    return 1.0 - share * (1.0 - signal)


def binary_periods(period_range: tuple[float, float], mass: float,
                   radius: float) -> tuple[float, float]:
    """``period_range`` (days) raised where needed so that even twins around a star of
    ``mass`` and ``radius`` (solar units) orbit at :data:`MIN_BINARY_A_RS` stellar radii or
    more (a giant host's shortest periods would put the stars inside each other)."""
    low, high = period_range
    a_rs = semi_major_axis_rsun(2.0 * mass, low) / radius
    low = max(low, low * (MIN_BINARY_A_RS / a_rs) ** 1.5)  # a grows as P^(2/3)
    return low, max(high, low)


def transit_flux(time: np.ndarray, params: dict[str, float]) -> np.ndarray:
    """The relative flux of a transit of ``params`` at ``time``, integrated over the cadence
    (the median spacing of ``time``)."""
    return _transit_model(time, params, _cadence_minutes(time))


def transit_depth(params: dict[str, float], exposure_min: float) -> float:
    """The deficit of an ``exposure_min``-long cadence centred on mid-transit."""
    return float(1.0 - _transit_model(np.array([params["epoch"]]), params, exposure_min)[0])


def _transit_model(time: np.ndarray, params: dict[str, float], exposure_min: float) -> np.ndarray:
    return transit_model(time, params["period"], params["epoch"], params["rp_rs"],
                         params["a_rs"], inclination_deg(params["a_rs"], params["impact"]),
                         params["u1"], params["u2"], exposure_min=exposure_min)


def _cadence_minutes(time: np.ndarray) -> float:
    return float(np.nanmedian(np.diff(time))) * 1440.0


def in_transit(time: np.ndarray, period: float, epoch: float, duration: float) -> np.ndarray:
    return np.abs(transit_offset(time, period, epoch)) < 0.5 * duration


def white_noise(relative_flux: np.ndarray) -> float:
    """Per-cadence white noise from the median absolute point-to-point difference, at least
    the float32 resolution of the flux."""
    mad = float(np.median(np.abs(np.diff(relative_flux))))
    return max(mad / (0.6745 * math.sqrt(2.0)), float(np.finfo(np.float32).eps))

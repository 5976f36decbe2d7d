"""Seeded TESS-like single-sector light curves with a truth table.

Every simulated star belongs to one class: ``planet`` (limb-darkened transits, some
multi-planet systems and single transits), ``eb`` (primary and secondary eclipses, some
eccentric, some near-twins), ``beb`` (a background EB diluted to planet-like depth, with
centroid motion in eclipse), ``false_dip`` (scattered-light events that dip the flux and
raise the background), ``variable`` (spotted rotators and pulsators) or ``quiet``.

On top of the astrophysics every light curve gets Tmag-dependent white noise, slow trends,
scattered-light ramps near the orbit ends, the mid-sector downlink gap and momentum dumps
(quality bit 32, with a pointing jump). Signals on the target are diluted by the
contaminating flux ``meta.contamination`` (the flux is not corrected for crowding, as SAP
flux: ``meta.flux_column`` is :data:`SIMULATED_FLUX`); the truth ``depth`` is the flux deficit
a cadence centred on the event records, ``rp_rearth`` the true planet radius.

Star ``i`` depends only on ``(seed, i)`` and the sector, never on the batch it is simulated
in: its astrophysics comes from ``SeedSequence([seed, 0, i])`` (the same star, planets and
ephemerides in every sector), its noise, systematics, single events and false dips from
``SeedSequence([seed, 1, sector, i])``. Spacecraft-wide effects (momentum dumps, pointing)
come from ``SeedSequence([seed, 2, sector])``. Classes follow a seeded golden-ratio sequence,
so any run of consecutive stars honours the class fractions closely.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

import astropy.units as u
import batman
import numpy as np
import pandas as pd
from astropy.coordinates import SkyCoord
from numpy.polynomial import legendre

from transitflow.lightcurve import MOMENTUM_DUMP_BIT, LightCurve, LightCurveMeta
from transitflow.signals import KEPLER_A_RSUN, R_SUN_IN_R_EARTH, transit_offset
from transitflow.options import options_from_dict

SIM_TIC_OFFSET = 9_000_000_000
#: The simulator's flux column: diluted by other stars' light, as SAP flux.
SIMULATED_FLUX = "SIMULATED"
SIM_CLASSES = ("planet", "eb", "beb", "false_dip", "variable", "quiet")
LABELS = {"planet": "planet", "eb": "eb", "beb": "eb", "false_dip": "non_transit",
          "variable": "non_transit", "quiet": "non_transit"}
DEFAULT_CLASS_FRACTIONS = {"planet": 0.30, "eb": 0.12, "beb": 0.06, "false_dip": 0.05,
                           "variable": 0.12}

SECTOR_DAYS = 27.4
SECTOR1_START = 1325.3  # BTJD
DOWNLINK_GAP_DAYS = 1.0
MOMENTUM_DUMP_INTERVAL_DAYS = (2.5, 3.1)

#: Per-star truth columns and their dtypes; the primary signal is the highest-SNR one.
STAR_COLUMNS = {"tic": "int64", "sector": "int64", "key": "object", "sim_class": "object",
                "label": "object", "n_signals": "int64", "tmag": "float64", "radius": "float64",
                "teff": "float64", "mass": "float64", "contamination": "float64",
                "noise_ppm_hr": "float64", "period": "float64", "epoch": "float64",
                "duration": "float64", "depth": "float64", "rp_rearth": "float64",
                "snr": "float64", "var_kind": "object", "var_period": "float64",
                "var_amplitude": "float64"}
#: Per-signal truth columns; ``snr`` is the expected white-noise SNR over the sector.
SIGNAL_COLUMNS = {"tic": "int64", "sector": "int64", "key": "object", "signal_index": "int64",
                  "sim_class": "object", "kind": "object", "period": "float64",
                  "epoch": "float64", "duration": "float64", "depth": "float64",
                  "rp_rearth": "float64", "impact": "float64", "ecc": "float64",
                  "secondary_depth": "float64", "secondary_phase": "float64",
                  "source_offset_px": "float64", "n_events_in_data": "int64", "snr": "float64"}

_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_LD_TEFF = (3300.0, 4500.0, 5800.0, 6800.0)  # rough TESS-band quadratic coefficients
_LD_U1 = (0.16, 0.42, 0.38, 0.30)
_LD_U2 = (0.42, 0.22, 0.22, 0.26)
_SINGLE_PERIOD_RANGE = (40.0, 400.0)  # days: one transit per sector at most
_MAX_PLANET_IMPACT = 0.9
_MAX_PLANET_RP_RS = 0.55  # the largest planets: ~30% deep around the smallest stars
_MIN_A_RS = 2.5  # the closest orbits, in stellar radii
_MIN_PERIOD_RATIO = 1.3
_SNR_MARGIN = 1.5  # LD, grazing geometry and cadence smearing lower the depth below k^2


@dataclass(frozen=True)
class SimConfig:
    """What to simulate.

    ``class_fractions`` gives the fraction of stars per class; classes left out get none,
    except ``quiet``, which takes the rest unless given. Ranges are ``(low, high)``.
    ``detectable_fraction`` of planet hosts get their first planet sized for an expected
    SNR of at least ``min_snr``; the others draw radii freely and may be undetectable.
    """

    n_stars: int = 2000
    sector: int = 1
    cadence_min: float = 30.0
    seed: int = 42
    class_fractions: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_CLASS_FRACTIONS))
    tmag_range: tuple[float, float] = (8.0, 14.0)
    teff_range: tuple[float, float] = (3300.0, 6800.0)
    planet_radius_range: tuple[float, float] = (1.0, 20.0)  # R_earth
    planet_period_range: tuple[float, float] = (0.5, 20.0)  # days
    multi_planet_fraction: float = 0.20
    single_transit_fraction: float = 0.10
    detectable_fraction: float = 0.85
    min_snr: float = 10.0
    eb_period_range: tuple[float, float] = (0.5, 15.0)
    beb_depth_range: tuple[float, float] = (0.001, 0.01)
    active_fraction: float = 0.3  # non-variable stars with low-level spot modulation
    star_mass_range: tuple[float, float] | None = None  # M_sun, log-uniform; None: from Teff
    grazing_fraction: float = 0.0  # planets with impact 0.9 to 1 + 0.8 Rp/R* (V-shaped)
    noise_scale: float = 1.0  # white noise relative to tess_noise_per_hour
    systematics_scale: float = 1.0  # trends and scattered light relative to the default

    def __post_init__(self) -> None:
        if self.n_stars < 0 or self.sector < 1 or self.cadence_min <= 0 or self.seed < 0:
            raise ValueError(f"simulation needs n_stars >= 0, sector >= 1, cadence_min > 0 and "
                             f"seed >= 0, got {self.n_stars}, {self.sector}, "
                             f"{self.cadence_min}, {self.seed}")
        for f in fields(self):
            value = getattr(self, f.name)
            if (f.name.endswith("_range") and value is not None
                    and not (len(value) == 2 and 0 < value[0] < value[1])):
                raise ValueError(f"simulation setting {f.name} must be (low, high) with "
                                 f"0 < low < high, got {value}")
            if f.name.endswith("_fraction") and not 0 <= value <= 1:
                raise ValueError(f"simulation setting {f.name} must be in [0, 1], got {value}")
        if self.noise_scale <= 0 or self.systematics_scale < 0:
            raise ValueError("simulation needs noise_scale > 0 and systematics_scale >= 0")
        if self.multi_planet_fraction + self.single_transit_fraction > 1:
            raise ValueError("multi_planet_fraction + single_transit_fraction exceeds 1")
        self.fractions  # raises on unknown classes or fractions not summing to 1

    @classmethod
    def from_dict(cls, values: Mapping) -> SimConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, values, "sim")

    @property
    def fractions(self) -> dict[str, float]:
        """The fraction of stars in every class of :data:`SIM_CLASSES`."""
        unknown = sorted(set(self.class_fractions) - set(SIM_CLASSES))
        if unknown:
            raise ValueError(f"unknown simulated class {unknown[0]!r} in class_fractions; "
                             f"known: {', '.join(SIM_CLASSES)}")
        values = {name: float(self.class_fractions.get(name, 0.0)) for name in SIM_CLASSES}
        if "quiet" not in self.class_fractions:
            values["quiet"] = 1.0 - sum(values.values())
        if min(values.values()) < -1e-9 or abs(sum(values.values()) - 1.0) > 1e-6:
            raise ValueError(f"class fractions must be >= 0 and sum to 1, got {values}")
        return values


@dataclass
class SimulatedBatch:
    """Light curves of a range of simulated stars with their truth tables
    (columns :data:`STAR_COLUMNS` and :data:`SIGNAL_COLUMNS`)."""

    light_curves: list[LightCurve]
    stars: pd.DataFrame
    signals: pd.DataFrame


def tess_noise_per_hour(tmag: float | np.ndarray) -> float | np.ndarray:
    """Fractional 1-hour white noise of a TESS star: photon, background and a floor.

    About 75 ppm at Tmag 8, 190 ppm at 10, 590 ppm at 12 and 2600 ppm at 14.
    """
    scale = 10.0 ** (0.2 * (np.asarray(tmag) - 10.0))
    return 1e-6 * np.sqrt((180.0 * scale) ** 2 + (60.0 * scale ** 2) ** 2 + 20.0 ** 2)


def quadratic_limb_darkening(teff: float) -> tuple[float, float]:
    """Rough TESS-band quadratic limb-darkening coefficients ``(u1, u2)`` for ``teff`` (K)."""
    return float(np.interp(teff, _LD_TEFF, _LD_U1)), float(np.interp(teff, _LD_TEFF, _LD_U2))


def semi_major_axis_rsun(total_mass: float, period: float) -> float:
    """Kepler's third law: the semi-major axis in R_sun for a mass in M_sun and P in days."""
    return KEPLER_A_RSUN * total_mass ** (1.0 / 3.0) * period ** (2.0 / 3.0)


def inclination_deg(a_rs: float, impact: float, ecc: float = 0.0, w: float = 90.0) -> float:
    """The orbital inclination giving impact parameter ``impact`` at the primary transit."""
    esinw = ecc * math.sin(math.radians(w))
    return math.degrees(math.acos(impact / a_rs * (1.0 + esinw) / (1.0 - ecc ** 2)))


def transit_duration(period: float, a_rs: float, impact: float, rp_rs: float = 0.0,
                     ecc: float = 0.0, w: float = 90.0) -> float:
    """First-to-fourth contact duration (days) of a transit; 0 when nothing transits."""
    return _t14(period, a_rs, inclination_deg(a_rs, impact, ecc, w), rp_rs, ecc, w)


def transit_model(time: np.ndarray, period: float, epoch: float, rp_rs: float, a_rs: float,
                  inclination_deg: float, u1: float, u2: float, ecc: float = 0.0,
                  w: float = 90.0, *, exposure_min: float = 0.0) -> np.ndarray:
    """Relative flux of a quadratically limb-darkened star transited by an opaque disk.

    batman, evaluated only near the transits; ``exposure_min`` > 0 integrates over the
    exposure of each cadence. ``epoch`` is a mid-transit time, ``w`` in degrees.
    """
    params = _batman_params(period, epoch, rp_rs, a_rs, inclination_deg, u1, u2, ecc, w)
    half = 0.5 * _t14(period, a_rs, inclination_deg, rp_rs, ecc, w)
    return _evaluate(params, time, epoch, half, exposure_min, "primary")


def simulate_stars(config: SimConfig, start: int = 0, stop: int | None = None) -> SimulatedBatch:
    """Simulate stars ``[start, stop)`` (all ``config.n_stars`` by default)."""
    stop = config.n_stars if stop is None else stop
    if not 0 <= start <= stop <= config.n_stars:
        raise ValueError(f"star range [{start}, {stop}) is not within [0, {config.n_stars})")
    frame = _sector_frame(config)
    classes = _star_classes(config, np.arange(start, stop))
    results = [_simulate_star(config, frame, i, c) for i, c in zip(range(start, stop), classes)]
    return SimulatedBatch(
        light_curves=[lc for lc, _, _ in results],
        stars=_frame([row for _, row, _ in results], STAR_COLUMNS),
        signals=_frame([row for _, _, rows in results for row in rows], SIGNAL_COLUMNS))


# --- geometry ------------------------------------------------------------------------------

def _t14(period: float, a_rs: float, inc: float, rp_rs: float, ecc: float, w: float,
         secondary: bool = False) -> float:
    """Contact duration of the transit (or, ``secondary``, the occultation)."""
    sign = -1.0 if secondary else 1.0
    factor = (1.0 - ecc ** 2) / (1.0 + sign * ecc * math.sin(math.radians(w)))
    impact = a_rs * math.cos(math.radians(inc)) * factor
    chord = math.sqrt(max((1.0 + rp_rs) ** 2 - impact ** 2, 0.0))
    arc = math.asin(min(chord / (a_rs * math.sin(math.radians(inc))), 1.0))
    return period / math.pi * arc * factor / math.sqrt(1.0 - ecc ** 2)


def _batman_params(period, epoch, rp_rs, a_rs, inc, u1, u2, ecc, w) -> batman.TransitParams:
    params = batman.TransitParams()
    params.t0, params.per, params.rp, params.a, params.inc = epoch, period, rp_rs, a_rs, inc
    params.ecc, params.w, params.u, params.limb_dark = ecc, w, [u1, u2], "quadratic"
    params.fp, params.t_secondary = 1.0, epoch + 0.5 * period
    return params


def _evaluate(params: batman.TransitParams, time: np.ndarray, center: float, half_width: float,
              exposure_min: float, transittype: str) -> np.ndarray:
    """batman near the events only: the transit flux, or the occulted body's visible fraction."""
    time = np.asarray(time, dtype=np.float64)
    flux = np.ones(len(time))
    exposure = exposure_min / 1440.0
    reach = 1.2 * half_width + exposure + 0.01
    near = np.abs(transit_offset(time, params.per, center)) < reach
    if half_width > 0 and near.any():
        supersample = max(1, math.ceil(exposure_min / 3.0)) if exposure > 0 else 1
        model = batman.TransitModel(params, np.ascontiguousarray(time[near]),
                                    transittype=transittype, supersample_factor=supersample,
                                    exp_time=exposure)
        lc = model.light_curve(params)
        flux[near] = (lc - 1.0) / params.fp if transittype == "secondary" else lc
    return flux


# --- the sector ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _SectorFrame:
    """What all stars of a sector share: cadences, orbits, momentum dumps and pointing."""

    time: np.ndarray
    orbits: tuple[tuple[float, float], ...]  # (first, last) time with data of each orbit
    dumps: np.ndarray  # bool per cadence
    pointing: np.ndarray  # (2, n) pointing offset in col/row, px, jumping at dumps


def _rng(*words: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(list(words)))


def _sector_frame(config: SimConfig) -> _SectorFrame:
    rng = _rng(config.seed, 2, config.sector)
    start = SECTOR1_START + SECTOR_DAYS * (config.sector - 1)
    step = config.cadence_min / 1440.0
    time = start + (np.arange(int(SECTOR_DAYS / step)) + 0.5) * step
    gap_start = start + 0.5 * (SECTOR_DAYS - DOWNLINK_GAP_DAYS)
    time = time[(time < gap_start) | (time >= gap_start + DOWNLINK_GAP_DAYS)]
    split = np.searchsorted(time, gap_start)
    orbits = ((time[0], time[split - 1]), (time[split], time[-1]))
    interval = rng.uniform(*MOMENTUM_DUMP_INTERVAL_DAYS)
    dumps = np.zeros(len(time), bool)
    for first, last in orbits:
        when = np.arange(first + rng.uniform(0.3, interval), last, interval)
        dumps[np.searchsorted(time, when)] = True
    jumps = np.where(dumps, rng.normal(0.0, 0.003, (2, len(time))), 0.0)
    return _SectorFrame(time, orbits, dumps, np.cumsum(jumps, axis=1))


def _star_classes(config: SimConfig, indices: np.ndarray) -> list[str]:
    """Classes from a seeded golden-ratio sequence through the cumulative fractions."""
    u = (_rng(config.seed, 3).random() + indices * _GOLDEN) % 1.0
    edges = np.cumsum([config.fractions[name] for name in SIM_CLASSES])
    chosen = np.minimum(np.searchsorted(edges, u, side="right"), len(SIM_CLASSES) - 1)
    return [SIM_CLASSES[k] for k in chosen]


# --- one star ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Star:
    index: int
    sim_class: str
    tmag: float
    teff: float
    mass: float
    radius: float
    u1: float
    u2: float
    contamination: float
    camera: int
    ccd: int
    position: tuple[float, float]  # col, row in px
    noise_hr: float  # fractional white noise per hour
    background: float  # e-/s

    @property
    def flux(self) -> float:
        """Out-of-transit flux in e-/s."""
        return 15000.0 * 10.0 ** (-0.4 * (self.tmag - 10.0))

    @property
    def logg(self) -> float:
        return 4.438 + math.log10(self.mass) - 2.0 * math.log10(self.radius)


@dataclass(frozen=True)
class _Draw:
    """What a class needs to plant its signals in one star."""

    config: SimConfig
    frame: _SectorFrame
    star: _Star
    star_rng: np.random.Generator  # the star's astrophysics, the same in every sector
    obs_rng: np.random.Generator  # this sector's observation of it

    @property
    def sigma(self) -> float:
        """Fractional white noise per cadence."""
        return self.star.noise_hr * math.sqrt(60.0 / self.config.cadence_min)


@dataclass
class _Planted:
    """Astrophysical and event signals of a star, before systematics and noise."""

    flux: np.ndarray  # relative flux
    centroid: np.ndarray  # (2, n) col/row shift, px
    background: np.ndarray  # extra background in units of the star's background
    signals: list[dict] = field(default_factory=list)
    variability: tuple[str, float, float] = ("", math.nan, math.nan)  # kind, period, amplitude

    @classmethod
    def nothing(cls, n: int) -> _Planted:
        return cls(np.ones(n), np.zeros((2, n)), np.zeros(n))


def log_uniform(rng: np.random.Generator, low: float, high: float,
                size: int | None = None) -> float | np.ndarray:
    """A draw (or ``size`` draws) uniform in log between ``low`` and ``high``."""
    return np.exp(rng.uniform(math.log(low), math.log(high), size))


def _draw_star(config: SimConfig, index: int, sim_class: str, rng: np.random.Generator) -> _Star:
    """A main-sequence star: M ~ (Teff / Teff_sun)^(1/0.6), R ~ M^0.8, with scatter; Teff
    drawn and M from it, or with ``star_mass_range`` M drawn (log-uniform) and Teff from it."""
    tmag = rng.uniform(*config.tmag_range)
    teff = rng.uniform(*config.teff_range)
    mass = (teff / 5772.0) ** (1.0 / 0.6) * math.exp(rng.normal(0.0, 0.05))
    if config.star_mass_range is not None:
        mass = float(log_uniform(rng, *config.star_mass_range))
        teff = 5772.0 * mass ** 0.6
    u1, u2 = quadratic_limb_darkening(teff)
    camera, ccd = (int(v) for v in rng.integers(1, 5, 2))
    return _Star(index=index, sim_class=sim_class, tmag=tmag, teff=teff, mass=mass,
                 radius=mass ** 0.8 * math.exp(rng.normal(0.0, 0.08)), u1=u1, u2=u2,
                 contamination=min(0.1, rng.exponential(0.02)), camera=camera, ccd=ccd,
                 position=tuple(rng.uniform(50.0, 2000.0, 2)),
                 noise_hr=(config.noise_scale * float(tess_noise_per_hour(tmag))
                           * math.exp(rng.normal(0.0, 0.15))),
                 background=rng.uniform(20.0, 300.0))


def _simulate_star(config: SimConfig, frame: _SectorFrame, index: int,
                   sim_class: str) -> tuple[LightCurve, dict, list[dict]]:
    star_rng = _rng(config.seed, 0, index)
    star = _draw_star(config, index, sim_class, star_rng)
    draw = _Draw(config, frame, star, star_rng, _rng(config.seed, 1, config.sector, index))
    planted = _with_activity(draw, _PLANTERS[sim_class](draw))
    lc = _observe(draw, planted)
    signals = sorted(planted.signals, key=lambda s: -s["snr"])
    signals = [{"tic": lc.meta.tic, "sector": config.sector, "key": lc.meta.key,
                "signal_index": k, "sim_class": sim_class, **s} for k, s in enumerate(signals)]
    return lc, _star_row(draw, lc, planted, signals), signals


def _observe(draw: _Draw, planted: _Planted) -> LightCurve:
    """Add trends, scattered light, momentum dumps and noise; the light curve in e-/s."""
    config, frame, star, rng = draw.config, draw.frame, draw.star, draw.obs_rng
    time, n = frame.time, len(frame.time)
    x = 2.0 * (time - time[0]) / (time[-1] - time[0]) - 1.0
    scattered = _scattered_light(frame, rng)
    systematics = 1.0 + config.systematics_scale * (
        _smooth_trend(rng, x, float(log_uniform(rng, 1e-4, 2e-3)))
        + rng.choice((-1.0, 1.0)) * log_uniform(rng, 1e-4, 1e-3) * scattered)
    relative = planted.flux * systematics + draw.sigma * rng.standard_normal(n)
    relative[frame.dumps] *= 1.0 - rng.uniform(0.002, 0.01, int(frame.dumps.sum()))
    background_noise = 0.01 * math.sqrt(30.0 / config.cadence_min) * rng.standard_normal(n)
    background = star.background * (1.0 + scattered + planted.background + background_noise)
    drift = np.array([_smooth_trend(rng, x, 0.005) for _ in range(2)])
    centroid = (np.array(star.position)[:, None] + frame.pointing + drift + planted.centroid
                + (0.5 * draw.sigma + 3e-4) * rng.standard_normal((2, n)))
    ra, dec = _sky_position(config, star.index)
    meta = LightCurveMeta(
        tic=SIM_TIC_OFFSET + star.index, sector=config.sector, mission="TESS",
        camera=star.camera, ccd=star.ccd, cadence_min=config.cadence_min, tmag=star.tmag,
        radius=star.radius, teff=star.teff, logg=star.logg, mass=star.mass,
        contamination=star.contamination, flux_column=SIMULATED_FLUX, ra=ra, dec=dec,
        source_file=f"sim:{config.seed}:{star.index}")
    return LightCurve.from_arrays(meta, time, star.flux * relative,
                                  np.full(n, star.flux * draw.sigma), centroid[0], centroid[1],
                                  background, np.where(frame.dumps, MOMENTUM_DUMP_BIT, 0))


def _sky_position(config: SimConfig, index: int) -> tuple[float, float]:
    """RA and Dec (deg) uniform on the sky within 12 deg of the southern ecliptic pole (in
    TESS's continuous viewing zone, so the same in every sector), from a stream of its own
    so the light curves do not depend on it."""
    rng = _rng(config.seed, 5, index)
    centre = SkyCoord(ra=90.0, dec=-66.56, unit="deg")
    separation = np.degrees(np.arccos(rng.uniform(math.cos(math.radians(12.0)), 1.0)))
    position = centre.directional_offset_by(rng.uniform(0.0, 360.0) * u.deg,
                                            separation * u.deg)
    return float(position.ra.deg), float(position.dec.deg)


def _smooth_trend(rng: np.random.Generator, x: np.ndarray, scale: float) -> np.ndarray:
    """A random cubic Legendre series over ``x`` in [-1, 1], zero mean."""
    return legendre.legval(x, np.r_[0.0, rng.normal(0.0, scale, 3)])


def _scattered_light(frame: _SectorFrame, rng: np.random.Generator) -> np.ndarray:
    """Background ramps at the start and end of each orbit, in units of the background."""
    ramp = np.zeros(len(frame.time))
    for first, last in frame.orbits:
        inside = (frame.time >= first) & (frame.time <= last)
        t = frame.time[inside]
        start, end = rng.uniform(0.0, 3.0, 2)
        tau = rng.uniform(0.2, 1.0)
        ramp[inside] = start * np.exp(-(t - first) / tau) + end * np.exp(-(last - t) / tau)
    return ramp


def _star_row(draw: _Draw, lc: LightCurve, planted: _Planted, signals: list[dict]) -> dict:
    star = draw.star
    primary = signals[0] if signals else {}
    return {"tic": lc.meta.tic, "sector": lc.meta.sector, "key": lc.meta.key,
            "sim_class": star.sim_class, "label": LABELS[star.sim_class],
            "n_signals": len(signals), "tmag": star.tmag, "radius": star.radius,
            "teff": star.teff, "mass": star.mass, "contamination": star.contamination,
            "noise_ppm_hr": 1e6 * star.noise_hr,
            **{name: primary.get(name, math.nan)
               for name in ("period", "epoch", "duration", "depth", "rp_rearth", "snr")},
            "var_kind": planted.variability[0], "var_period": planted.variability[1],
            "var_amplitude": planted.variability[2]}


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns)).astype(columns)


# --- events --------------------------------------------------------------------------------

def _first_event(draw: _Draw, period: float) -> float:
    """The first event in the sector of an ephemeris fixed for the star (all sectors)."""
    reference = SECTOR1_START + draw.star_rng.random() * period
    return reference + math.ceil((draw.frame.time[0] - reference) / period) * period


def _random_event_time(draw: _Draw, margin: float) -> float:
    """A time with data, ``margin`` days or more from the orbit edges (drawn per sector)."""
    spans = np.array([(first + margin, last - margin) for first, last in draw.frame.orbits])
    lengths = np.clip(spans[:, 1] - spans[:, 0], 0.0, None)
    first, last = spans[draw.obs_rng.choice(len(spans), p=lengths / lengths.sum())]
    return draw.obs_rng.uniform(first, last)


def _signal(draw: _Draw, kind: str, period: float, epoch: float, duration: float,
            depth: float, **extra: float) -> dict:
    """A truth row; ``n_events_in_data`` counts events with cadences in transit."""
    time = draw.frame.time
    events = (np.array([epoch]) if kind == "single"
              else np.arange(epoch, time[-1] + 0.5 * duration, period))
    counts = (np.searchsorted(time, events + 0.5 * duration)
              - np.searchsorted(time, events - 0.5 * duration))
    row = {"kind": kind, "period": period, "epoch": epoch, "duration": duration, "depth": depth,
           "rp_rearth": math.nan, "impact": math.nan, "ecc": math.nan,
           "secondary_depth": math.nan, "secondary_phase": math.nan,
           "source_offset_px": math.nan, "n_events_in_data": int((counts > 0).sum()),
           "snr": depth * math.sqrt(counts.sum()) / draw.sigma}
    return {**row, **extra}


# --- planets -------------------------------------------------------------------------------

def _plant_planets(draw: _Draw) -> _Planted:
    """One planet (or one single transit), or a system of 2-3 planets."""
    config, rng = draw.config, draw.star_rng
    u = rng.random()
    single = u >= 1.0 - config.single_transit_fraction
    if single:
        periods = log_uniform(rng, *_SINGLE_PERIOD_RANGE, 1)
    else:
        n = int(rng.integers(2, 4)) if u < config.multi_planet_fraction else 1
        low, high = config.planet_period_range
        low = min(max(low, _shortest_period(draw.star)), high / _MIN_PERIOD_RATIO)
        periods = _spaced_periods(rng, n, (low, high))
    detectable = rng.random() < config.detectable_fraction
    planted = _Planted.nothing(len(draw.frame.time))
    for j, period in enumerate(periods):
        flux, signal = _planet(draw, float(period), single, detectable and j == 0)
        planted.flux *= flux
        planted.signals.append(signal)
    return planted


def _spaced_periods(rng: np.random.Generator, n: int,
                    period_range: tuple[float, float]) -> np.ndarray:
    """``n`` log-uniform periods, neighbours at least :data:`_MIN_PERIOD_RATIO` apart."""
    low, high = period_range
    step = math.log(_MIN_PERIOD_RATIO)
    span = max(math.log(high / low) - (n - 1) * step, 0.0)
    return low * np.exp(np.sort(rng.random(n)) * span + np.arange(n) * step)


def _planet(draw: _Draw, period: float, single: bool,
            detectable: bool) -> tuple[np.ndarray, dict]:
    """The diluted transit flux of one planet and its truth row."""
    star, rng = draw.star, draw.star_rng
    a_rs = semi_major_axis_rsun(star.mass, period) / star.radius
    impact = rng.uniform(0.0, _MAX_PLANET_IMPACT)
    low, high = draw.config.planet_radius_range
    high = min(high, _MAX_PLANET_RP_RS * star.radius * R_SUN_IN_R_EARTH)
    if detectable:
        low = max(low, _detectable_radius(draw, period, a_rs, impact, single))
    radius = high if low >= high else float(log_uniform(rng, low, high))
    rp_rs = radius / (star.radius * R_SUN_IN_R_EARTH)
    if draw.config.grazing_fraction and rng.random() < draw.config.grazing_fraction:
        impact = grazing_impact(rng, rp_rs)
    duration = transit_duration(period, a_rs, impact, rp_rs)
    epoch = _random_event_time(draw, duration) if single else _first_event(draw, period)
    # the appended point is mid-transit: its deficit is the truth depth
    model = transit_model(np.append(draw.frame.time, epoch), period, epoch, rp_rs, a_rs,
                          inclination_deg(a_rs, impact), star.u1, star.u2,
                          exposure_min=draw.config.cadence_min)
    flux = 1.0 - (1.0 - star.contamination) * (1.0 - model)
    signal = _signal(draw, "single" if single else "periodic", math.nan if single else period,
                     epoch, duration, 1.0 - flux[-1], rp_rearth=radius, impact=impact, ecc=0.0,
                     source_offset_px=0.0)
    return flux[:-1], signal


def grazing_impact(rng: np.random.Generator, rp_rs: float) -> float:
    """A random impact parameter of a grazing, V-shaped transit: on the stellar limb, from
    0.9 to ``1 + 0.8 rp_rs`` (part of the planet always covers the star)."""
    return float(rng.uniform(_MAX_PLANET_IMPACT, 1.0 + 0.8 * rp_rs))


def _shortest_period(star: _Star) -> float:
    """The period (days) at which the orbit is :data:`_MIN_A_RS` stellar radii wide."""
    return (_MIN_A_RS * star.radius / semi_major_axis_rsun(star.mass, 1.0)) ** 1.5


def _detectable_radius(draw: _Draw, period: float, a_rs: float, impact: float,
                       single: bool) -> float:
    """The planet radius (R_earth) whose transits reach ``min_snr``, with a margin."""
    step = draw.config.cadence_min / 1440.0
    n_events = 1.0 if single else max(1.0, len(draw.frame.time) * step / period)
    n_in = max(1.0, n_events * transit_duration(period, a_rs, impact) / step)
    depth = (_SNR_MARGIN * draw.config.min_snr * draw.sigma / math.sqrt(n_in)
             / (1.0 - draw.star.contamination))
    return math.sqrt(depth) * draw.star.radius * R_SUN_IN_R_EARTH


# --- eclipsing binaries --------------------------------------------------------------------

@dataclass(frozen=True)
class _Binary:
    """An eclipsing binary; lengths in units of the primary's radius."""

    period: float
    epoch: float  # a primary eclipse
    t_secondary: float
    rp_rs: float  # R2 / R1
    a_rs: float
    inc: float
    impact: float
    ecc: float
    w: float
    surface_ratio: float  # surface brightness, star 2 / star 1
    mass_ratio: float
    u1: float
    u2: float

    @property
    def duration(self) -> float:
        return transit_duration(self.period, self.a_rs, self.impact, self.rp_rs, self.ecc, self.w)

    def eclipses(self, time: np.ndarray, exposure_min: float) -> np.ndarray:
        """Both stars' flux with the eclipses, normalised to 1 outside them."""
        params = _batman_params(self.period, self.epoch, self.rp_rs, self.a_rs, self.inc,
                                self.u1, self.u2, self.ecc, self.w)
        params.t_secondary = self.t_secondary
        primary = transit_model(time, self.period, self.epoch, self.rp_rs, self.a_rs, self.inc,
                                self.u1, self.u2, self.ecc, self.w, exposure_min=exposure_min)
        half = 0.5 * _t14(self.period, self.a_rs, self.inc, self.rp_rs, self.ecc, self.w, True)
        visible = _evaluate(params, time, self.t_secondary, half, exposure_min, "secondary")
        light = self.rp_rs ** 2 * self.surface_ratio
        return (primary + light * visible) / (1.0 + light)

    def ellipsoidal(self, time: np.ndarray) -> np.ndarray:
        """Ellipsoidal variation of the primary, minimal at the conjunctions."""
        amplitude = 1.1 * self.mass_ratio * math.sin(math.radians(self.inc)) ** 2 / self.a_rs ** 3
        return 1.0 - amplitude * np.cos(4.0 * math.pi * (time - self.epoch) / self.period)


def _draw_binary(draw: _Draw, max_impact: float) -> _Binary:
    """A detached binary: a quarter near-twins, eccentric orbits only where they fit."""
    rng, star = draw.star_rng, draw.star
    twin = rng.random() < 0.25
    rp_rs = rng.uniform(0.9, 1.0) if twin else rng.uniform(0.25, 0.9)
    surface_ratio = rng.uniform(0.85, 1.0) if twin else rng.uniform(0.05, 0.7)
    period = float(log_uniform(rng, *draw.config.eb_period_range))
    mass_ratio = rp_rs ** 1.25
    a_rs = semi_major_axis_rsun(star.mass * (1.0 + mass_ratio), period) / star.radius
    max_ecc = min(0.4, 1.0 - 2.0 * (1.0 + rp_rs) / a_rs)  # periastron stays detached
    ecc = rng.uniform(0.05, max_ecc) if max_ecc > 0.05 and rng.random() < 0.5 else 0.0
    w = rng.uniform(0.0, 360.0) if ecc else 90.0
    impact = rng.uniform(0.0, max_impact)
    inc = inclination_deg(a_rs, impact, ecc, w)
    epoch = _first_event(draw, period)
    params = _batman_params(period, epoch, rp_rs, a_rs, inc, star.u1, star.u2, ecc, w)
    t_secondary = batman.TransitModel(params, np.array([epoch])).get_t_secondary(params)
    return _Binary(period, epoch, float(t_secondary), rp_rs, a_rs, inc, impact, ecc, w,
                   surface_ratio, mass_ratio, star.u1, star.u2)


def _plant_binary(draw: _Draw, binary: _Binary, weight: float,
                  offset: np.ndarray) -> _Planted:
    """A binary contributing ``weight`` of the light from ``offset`` px off the target."""
    time = draw.frame.time
    # the two appended points are mid-eclipse: their deficits are the truth depths
    eclipses = binary.eclipses(np.r_[time, binary.epoch, binary.t_secondary],
                               draw.config.cadence_min)
    deficit = weight * (1.0 - eclipses[:-2] * binary.ellipsoidal(time))
    planted = _Planted.nothing(len(time))
    planted.flux = 1.0 - deficit
    planted.centroid = blend_centroid_shift(offset, deficit, weight)
    depth, secondary_depth = weight * (1.0 - eclipses[-2:])
    phase = ((binary.t_secondary - binary.epoch) / binary.period) % 1.0
    planted.signals.append(_signal(
        draw, "periodic", binary.period, binary.epoch, binary.duration, depth,
        impact=binary.impact, ecc=binary.ecc, secondary_depth=secondary_depth,
        secondary_phase=phase, source_offset_px=float(np.hypot(*offset))))
    return planted


def blend_centroid_shift(offset, deficit, weight: float):
    """Flux-weighted centroid motion, px (per axis of ``offset`` by each ``deficit``), when
    a source ``offset`` px from the target that holds ``weight`` of the light dims the
    total by ``deficit``: -offset x deficit x (1 - weight) / (1 - deficit)."""
    return -np.multiply.outer(offset, np.asarray(deficit) * (1.0 - weight) / (1.0 - deficit))


def _plant_eb(draw: _Draw) -> _Planted:
    return _plant_binary(draw, _draw_binary(draw, 0.9), 1.0 - draw.star.contamination,
                         np.zeros(2))


def _plant_beb(draw: _Draw) -> _Planted:
    """A deep background binary 0.5-2 px away, diluted to a planet-like depth."""
    rng = draw.star_rng
    binary = _draw_binary(draw, 0.5)
    undiluted = 1.0 - binary.eclipses(np.array([binary.epoch]), draw.config.cadence_min)[0]
    weight = float(log_uniform(rng, *draw.config.beb_depth_range)) / undiluted
    angle = rng.uniform(0.0, 2.0 * math.pi)
    offset = rng.uniform(0.5, 2.0) * np.array([math.cos(angle), math.sin(angle)])
    return _plant_binary(draw, binary, weight, offset)


# --- false dips and variability ------------------------------------------------------------

def _plant_false_dips(draw: _Draw) -> _Planted:
    """1-3 scattered-light events, a day or more apart: the flux dips, the background rises."""
    rng, time = draw.obs_rng, draw.frame.time
    planted = _Planted.nothing(len(time))
    for _ in range(int(rng.integers(1, 4))):
        width = rng.uniform(0.08, 0.5)
        center = _random_event_time(draw, width)
        if any(abs(center - signal["epoch"]) < 1.0 for signal in planted.signals):
            continue
        depth = float(log_uniform(rng, 1.5e-3, 1e-2))
        shape = 0.5 * (np.tanh((time - center + 0.5 * width) / (width / 8.0))
                       - np.tanh((time - center - 0.5 * width) / (width / 8.0)))
        planted.flux *= 1.0 - depth * shape
        planted.background += rng.uniform(0.5, 3.0) * shape
        planted.centroid += np.outer(depth * rng.uniform(-0.3, 0.3, 2), shape)
        planted.signals.append(_signal(draw, "single", math.nan, center, width, depth))
    return planted


def _plant_variable(draw: _Draw) -> _Planted:
    """A spotted rotator (60%) or a pulsator."""
    planted = _Planted.nothing(len(draw.frame.time))
    if draw.star_rng.random() < 0.6:
        planted.flux, planted.variability = _rotation(draw, (1e-3, 3e-2), (0.5, 15.0))
    else:
        planted.flux, planted.variability = _pulsation(draw)
    return planted


def _with_activity(draw: _Draw, planted: _Planted) -> _Planted:
    """Low-level spot modulation on ``active_fraction`` of the non-variable stars."""
    if draw.star.sim_class != "variable" and draw.star_rng.random() < draw.config.active_fraction:
        flux, planted.variability = _rotation(draw, (2e-4, 2e-3), (2.0, 15.0))
        planted.flux = planted.flux * flux
    return planted


def _sinusoids(draw: _Draw, periods: np.ndarray, amplitudes: np.ndarray,
               phases: np.ndarray) -> np.ndarray:
    """1 + a sum of sinusoids, each averaged over the exposure, phased from sector 1."""
    time = draw.frame.time - SECTOR1_START
    smear = np.sinc(draw.config.cadence_min / 1440.0 / periods)
    waves = (amplitudes * smear)[:, None] * np.sin(2.0 * math.pi * time / periods[:, None]
                                                   + phases[:, None])
    return 1.0 + waves.sum(axis=0)


def _rotation(draw: _Draw, amplitude_range: tuple[float, float],
              period_range: tuple[float, float]) -> tuple[np.ndarray, tuple[str, float, float]]:
    """Two spot harmonics whose amplitude evolves over weeks."""
    rng = draw.star_rng
    period = float(log_uniform(rng, *period_range))
    amplitude = float(log_uniform(rng, *amplitude_range))
    harmonic = rng.uniform(0.2, 0.6)
    spots = _sinusoids(draw, np.array([period, period / 2.0]),
                       amplitude * np.array([1.0, harmonic]) / (1.0 + harmonic),
                       rng.uniform(0.0, 2.0 * math.pi, 2)) - 1.0
    evolution = _sinusoids(draw, np.array([rng.uniform(15.0, 60.0)]), np.array([0.3]),
                           rng.uniform(0.0, 2.0 * math.pi, 1))
    return 1.0 + spots * evolution, ("rotation", period, amplitude)


def _pulsation(draw: _Draw) -> tuple[np.ndarray, tuple[str, float, float]]:
    """2-5 modes of a delta Scuti (0.02-0.25 d) or gamma Doradus (0.3-3 d) star."""
    rng = draw.star_rng
    period_range = (0.02, 0.25) if rng.random() < 0.5 else (0.3, 3.0)
    n = int(rng.integers(2, 6))
    periods = log_uniform(rng, *period_range, n)
    amplitudes = float(log_uniform(rng, 5e-4, 1e-2)) * np.r_[1.0, rng.uniform(0.1, 0.7, n - 1)]
    flux = _sinusoids(draw, periods, amplitudes, rng.uniform(0.0, 2.0 * math.pi, n))
    return flux, ("pulsation", float(periods[0]), float(amplitudes[0]))


_PLANTERS: dict[str, Callable[[_Draw], _Planted]] = {
    "planet": _plant_planets, "eb": _plant_eb, "beb": _plant_beb,
    "false_dip": _plant_false_dips, "variable": _plant_variable,
    "quiet": lambda draw: _Planted.nothing(len(draw.frame.time)),
}

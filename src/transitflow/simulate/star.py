"""One simulated star: its parameters, the sector it is observed in, the seeded
generators of its astrophysics and of its observation, and its planted signals."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import legendre

from transitflow.simulate.config import SECTOR1_START, SimConfig
from transitflow.simulate.physics import log_uniform, quadratic_limb_darkening, tess_noise_per_hour


@dataclass(frozen=True)
class SectorFrame:
    """What all stars of a sector share: cadences, orbits, momentum dumps and pointing."""

    time: np.ndarray
    orbits: tuple[tuple[float, float], ...]  # (first, last) time with data of each orbit
    dumps: np.ndarray  # bool per cadence
    pointing: np.ndarray  # (2, n) pointing offset in col/row, px, jumping at dumps


def seeded_rng(*words: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(list(words)))


@dataclass(frozen=True)
class Star:
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
class Draw:
    """What a class needs to plant its signals in one star."""

    config: SimConfig
    frame: SectorFrame
    star: Star
    star_rng: np.random.Generator  # the star's astrophysics, the same in every sector
    obs_rng: np.random.Generator  # this sector's observation of it

    @property
    def sigma(self) -> float:
        """Fractional white noise per cadence."""
        return self.star.noise_hr * math.sqrt(60.0 / self.config.cadence_min)


@dataclass
class Planted:
    """Astrophysical and event signals of a star, before systematics and noise."""

    flux: np.ndarray  # relative flux
    centroid: np.ndarray  # (2, n) col/row shift, px
    background: np.ndarray  # extra background in units of the star's background
    signals: list[dict] = field(default_factory=list)
    variability: tuple[str, float, float] = ("", math.nan, math.nan)  # kind, period, amplitude

    @classmethod
    def nothing(cls, n: int) -> Planted:
        return cls(np.ones(n), np.zeros((2, n)), np.zeros(n))


def draw_star(config: SimConfig, index: int, sim_class: str, rng: np.random.Generator) -> Star:
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
    return Star(index=index, sim_class=sim_class, tmag=tmag, teff=teff, mass=mass,
                 radius=mass ** 0.8 * math.exp(rng.normal(0.0, 0.08)), u1=u1, u2=u2,
                 contamination=min(0.1, rng.exponential(0.02)), camera=camera, ccd=ccd,
                 position=tuple(rng.uniform(50.0, 2000.0, 2)),
                 noise_hr=(config.noise_scale * float(tess_noise_per_hour(tmag))
                           * math.exp(rng.normal(0.0, 0.15))),
                 background=rng.uniform(20.0, 300.0))


def smooth_trend(rng: np.random.Generator, x: np.ndarray, scale: float) -> np.ndarray:
    """A random cubic Legendre series over ``x`` in [-1, 1], zero mean."""
    return legendre.legval(x, np.r_[0.0, rng.normal(0.0, scale, 3)])


def first_event(draw: Draw, period: float) -> float:
    """The first event in the sector of an ephemeris fixed for the star (all sectors)."""
    reference = SECTOR1_START + draw.star_rng.random() * period
    return reference + math.ceil((draw.frame.time[0] - reference) / period) * period


def random_event_time(draw: Draw, margin: float) -> float:
    """A time with data, ``margin`` days or more from the orbit edges (drawn per sector)."""
    spans = np.array([(first + margin, last - margin) for first, last in draw.frame.orbits])
    lengths = np.clip(spans[:, 1] - spans[:, 0], 0.0, None)
    first, last = spans[draw.obs_rng.choice(len(spans), p=lengths / lengths.sum())]
    return draw.obs_rng.uniform(first, last)


def signal_row(draw: Draw, kind: str, period: float, epoch: float, duration: float,
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

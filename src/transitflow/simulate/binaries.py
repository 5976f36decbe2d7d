"""Eclipsing binaries on the target and blended background binaries with centroid
motion."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import batman
import numpy as np

from transitflow.simulate.physics import (batman_flux, batman_params, blend_centroid_shift,
                                          full_duration_days, inclination_deg, log_uniform,
                                          semi_major_axis_rsun, transit_duration, transit_model)
from transitflow.simulate.star import Draw, Planted, first_event, signal_row


#: Largest impact parameter of an eclipsing binary on the target.
MAX_EB_IMPACT = 0.9


@dataclass(frozen=True)
class Binary:
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
        params = batman_params(self.period, self.epoch, self.rp_rs, self.a_rs, self.inc,
                                self.u1, self.u2, self.ecc, self.w)
        params.t_secondary = self.t_secondary
        primary = transit_model(time, self.period, self.epoch, self.rp_rs, self.a_rs, self.inc,
                                self.u1, self.u2, self.ecc, self.w, exposure_min=exposure_min)
        half = 0.5 * full_duration_days(self.period, self.a_rs, self.inc, self.rp_rs, self.ecc, self.w, True)
        visible = batman_flux(params, time, self.t_secondary, half, exposure_min, "secondary")
        light = self.rp_rs ** 2 * self.surface_ratio
        return (primary + light * visible) / (1.0 + light)

    def ellipsoidal(self, time: np.ndarray) -> np.ndarray:
        """Ellipsoidal variation of the primary, minimal at the conjunctions."""
        amplitude = 1.1 * self.mass_ratio * math.sin(math.radians(self.inc)) ** 2 / self.a_rs ** 3
        return 1.0 - amplitude * np.cos(4.0 * math.pi * (time - self.epoch) / self.period)


def _draw_binary(draw: Draw, max_impact: float) -> Binary:
    """The star's binary (:func:`draw_binary`), its first eclipse in the sector."""
    star = draw.star
    return draw_binary(draw.star_rng, star.mass, star.radius, (star.u1, star.u2),
                       draw.config.eb_period_range, max_impact,
                       lambda period: first_event(draw, period))


def draw_binary(rng: np.random.Generator, mass: float, radius: float,
                limb_darkening: tuple[float, float], period_range: tuple[float, float],
                max_impact: float, epoch_of: Callable[[float], float]) -> Binary:
    """A detached binary around a star of ``mass`` and ``radius`` (solar units) with
    quadratic ``limb_darkening``: a quarter near-twins, eccentric orbits only where they
    fit, the period log-uniform in ``period_range``, a primary eclipse at
    ``epoch_of(period)``."""
    twin = rng.random() < 0.25
    rp_rs = rng.uniform(0.9, 1.0) if twin else rng.uniform(0.25, 0.9)
    surface_ratio = rng.uniform(0.85, 1.0) if twin else rng.uniform(0.05, 0.7)
    period = float(log_uniform(rng, *period_range))
    mass_ratio = rp_rs ** 1.25
    a_rs = semi_major_axis_rsun(mass * (1.0 + mass_ratio), period) / radius
    max_ecc = min(0.4, 1.0 - 2.0 * (1.0 + rp_rs) / a_rs)  # periastron stays detached
    ecc = rng.uniform(0.05, max_ecc) if max_ecc > 0.05 and rng.random() < 0.5 else 0.0
    w = rng.uniform(0.0, 360.0) if ecc else 90.0
    impact = rng.uniform(0.0, max_impact)
    inc = inclination_deg(a_rs, impact, ecc, w)
    epoch = epoch_of(period)
    u1, u2 = limb_darkening
    params = batman_params(period, epoch, rp_rs, a_rs, inc, u1, u2, ecc, w)
    t_secondary = batman.TransitModel(params, np.array([epoch])).get_t_secondary(params)
    return Binary(period, epoch, float(t_secondary), rp_rs, a_rs, inc, impact, ecc, w,
                  surface_ratio, mass_ratio, u1, u2)


def _plant_binary(draw: Draw, binary: Binary, weight: float,
                  offset: np.ndarray) -> Planted:
    """A binary contributing ``weight`` of the light from ``offset`` px off the target."""
    time = draw.frame.time
    # the two appended points are mid-eclipse: their deficits are the truth depths
    eclipses = binary.eclipses(np.r_[time, binary.epoch, binary.t_secondary],
                               draw.config.cadence_min)
    deficit = weight * (1.0 - eclipses[:-2] * binary.ellipsoidal(time))
    planted = Planted.nothing(len(time))
    planted.flux = 1.0 - deficit
    planted.centroid = blend_centroid_shift(offset, deficit, weight)
    depth, secondary_depth = weight * (1.0 - eclipses[-2:])
    phase = ((binary.t_secondary - binary.epoch) / binary.period) % 1.0
    planted.signals.append(signal_row(
        draw, "periodic", binary.period, binary.epoch, binary.duration, depth,
        impact=binary.impact, ecc=binary.ecc, secondary_depth=secondary_depth,
        secondary_phase=phase, source_offset_px=float(np.hypot(*offset))))
    return planted


def plant_eb(draw: Draw) -> Planted:
    return _plant_binary(draw, _draw_binary(draw, MAX_EB_IMPACT), 1.0 - draw.star.contamination,
                         np.zeros(2))


def plant_beb(draw: Draw) -> Planted:
    """A deep background binary 0.5-2 px away, diluted to a planet-like depth."""
    rng = draw.star_rng
    binary = _draw_binary(draw, 0.5)
    undiluted = 1.0 - binary.eclipses(np.array([binary.epoch]), draw.config.cadence_min)[0]
    weight = float(log_uniform(rng, *draw.config.beb_depth_range)) / undiluted
    angle = rng.uniform(0.0, 2.0 * math.pi)
    offset = rng.uniform(0.5, 2.0) * np.array([math.cos(angle), math.sin(angle)])
    return _plant_binary(draw, binary, weight, offset)

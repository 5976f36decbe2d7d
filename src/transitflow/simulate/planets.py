"""Planets: single and multi-planet systems, single transits, grazing transits."""

from __future__ import annotations

import math

import numpy as np

from transitflow.signals import R_SUN_IN_R_EARTH
from transitflow.simulate.physics import (MAX_PLANET_IMPACT, grazing_impact, inclination_deg,
                                          log_uniform, semi_major_axis_rsun, transit_duration,
                                          transit_model)
from transitflow.simulate.star import (Draw, Planted, Star, first_event, random_event_time,
                                       signal_row)


_SINGLE_PERIOD_RANGE = (40.0, 400.0)  # days: one transit per sector at most
_MAX_PLANET_RP_RS = 0.55  # the largest planets: ~30% deep around the smallest stars
_MIN_A_RS = 2.5  # the closest orbits, in stellar radii
_MIN_PERIOD_RATIO = 1.3
_SNR_MARGIN = 1.5  # LD, grazing geometry and cadence smearing lower the depth below k^2


def plant_planets(draw: Draw) -> Planted:
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
    planted = Planted.nothing(len(draw.frame.time))
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


def _planet(draw: Draw, period: float, single: bool,
            detectable: bool) -> tuple[np.ndarray, dict]:
    """The diluted transit flux of one planet and its truth row."""
    star, rng = draw.star, draw.star_rng
    a_rs = semi_major_axis_rsun(star.mass, period) / star.radius
    impact = rng.uniform(0.0, MAX_PLANET_IMPACT)
    low, high = draw.config.planet_radius_range
    high = min(high, _MAX_PLANET_RP_RS * star.radius * R_SUN_IN_R_EARTH)
    if detectable:
        low = max(low, _detectable_radius(draw, period, a_rs, impact, single))
    radius = high if low >= high else float(log_uniform(rng, low, high))
    rp_rs = radius / (star.radius * R_SUN_IN_R_EARTH)
    if draw.config.grazing_fraction and rng.random() < draw.config.grazing_fraction:
        impact = grazing_impact(rng, rp_rs)
    duration = transit_duration(period, a_rs, impact, rp_rs)
    epoch = random_event_time(draw, duration) if single else first_event(draw, period)
    # the appended point is mid-transit: its deficit is the truth depth
    model = transit_model(np.append(draw.frame.time, epoch), period, epoch, rp_rs, a_rs,
                          inclination_deg(a_rs, impact), star.u1, star.u2,
                          exposure_min=draw.config.cadence_min)
    flux = 1.0 - (1.0 - star.contamination) * (1.0 - model)
    signal = signal_row(draw, "single" if single else "periodic", math.nan if single else period,
                     epoch, duration, 1.0 - flux[-1], rp_rearth=radius, impact=impact, ecc=0.0,
                     source_offset_px=0.0)
    return flux[:-1], signal


def _shortest_period(star: Star) -> float:
    """The period (days) at which the orbit is :data:`_MIN_A_RS` stellar radii wide."""
    return (_MIN_A_RS * star.radius / semi_major_axis_rsun(star.mass, 1.0)) ** 1.5


def _detectable_radius(draw: Draw, period: float, a_rs: float, impact: float,
                       single: bool) -> float:
    """The planet radius (R_earth) whose transits reach ``min_snr``, with a margin."""
    step = draw.config.cadence_min / 1440.0
    n_events = 1.0 if single else max(1.0, len(draw.frame.time) * step / period)
    n_in = max(1.0, n_events * transit_duration(period, a_rs, impact) / step)
    depth = (_SNR_MARGIN * draw.config.min_snr * draw.sigma / math.sqrt(n_in)
             / (1.0 - draw.star.contamination))
    return math.sqrt(depth) * draw.star.radius * R_SUN_IN_R_EARTH

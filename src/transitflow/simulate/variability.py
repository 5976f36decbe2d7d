"""False dips (scattered-light events), spotted rotators, pulsators and activity."""

from __future__ import annotations

import math

import numpy as np

from transitflow.simulate.config import SECTOR1_START
from transitflow.simulate.physics import log_uniform
from transitflow.simulate.star import Draw, Planted, random_event_time, signal_row


def plant_false_dips(draw: Draw) -> Planted:
    """1-3 scattered-light events, a day or more apart: the flux dips, the background rises."""
    rng, time = draw.obs_rng, draw.frame.time
    planted = Planted.nothing(len(time))
    for _ in range(int(rng.integers(1, 4))):
        width = rng.uniform(0.08, 0.5)
        center = random_event_time(draw, width)
        if any(abs(center - signal["epoch"]) < 1.0 for signal in planted.signals):
            continue
        depth = float(log_uniform(rng, 1.5e-3, 1e-2))
        shape = 0.5 * (np.tanh((time - center + 0.5 * width) / (width / 8.0))
                       - np.tanh((time - center - 0.5 * width) / (width / 8.0)))
        planted.flux *= 1.0 - depth * shape
        planted.background += rng.uniform(0.5, 3.0) * shape
        planted.centroid += np.outer(depth * rng.uniform(-0.3, 0.3, 2), shape)
        planted.signals.append(signal_row(draw, "single", math.nan, center, width, depth))
    return planted


def plant_variable(draw: Draw) -> Planted:
    """A spotted rotator (60%) or a pulsator."""
    planted = Planted.nothing(len(draw.frame.time))
    if draw.star_rng.random() < 0.6:
        planted.flux, planted.variability = _rotation(draw, (1e-3, 3e-2), (0.5, 15.0))
    else:
        planted.flux, planted.variability = _pulsation(draw)
    return planted


def with_activity(draw: Draw, planted: Planted) -> Planted:
    """Low-level spot modulation on ``active_fraction`` of the non-variable stars."""
    if draw.star.sim_class != "variable" and draw.star_rng.random() < draw.config.active_fraction:
        flux, planted.variability = _rotation(draw, (2e-4, 2e-3), (2.0, 15.0))
        planted.flux = planted.flux * flux
    return planted


def _sinusoids(draw: Draw, periods: np.ndarray, amplitudes: np.ndarray,
               phases: np.ndarray) -> np.ndarray:
    """1 + a sum of sinusoids, each averaged over the exposure, phased from sector 1."""
    time = draw.frame.time - SECTOR1_START
    smear = np.sinc(draw.config.cadence_min / 1440.0 / periods)
    waves = (amplitudes * smear)[:, None] * np.sin(2.0 * math.pi * time / periods[:, None]
                                                   + phases[:, None])
    return 1.0 + waves.sum(axis=0)


def _rotation(draw: Draw, amplitude_range: tuple[float, float],
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


def _pulsation(draw: Draw) -> tuple[np.ndarray, tuple[str, float, float]]:
    """2-5 modes of a delta Scuti (0.02-0.25 d) or gamma Doradus (0.3-3 d) star."""
    rng = draw.star_rng
    period_range = (0.02, 0.25) if rng.random() < 0.5 else (0.3, 3.0)
    n = int(rng.integers(2, 6))
    periods = log_uniform(rng, *period_range, n)
    amplitudes = float(log_uniform(rng, 5e-4, 1e-2)) * np.r_[1.0, rng.uniform(0.1, 0.7, n - 1)]
    flux = _sinusoids(draw, periods, amplitudes, rng.uniform(0.0, 2.0 * math.pi, n))
    return flux, ("pulsation", float(periods[0]), float(amplitudes[0]))

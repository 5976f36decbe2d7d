"""Small light-curve builders for unit tests."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from transitflow.lightcurve import LightCurve, LightCurveMeta
from transitflow.signals import transit_offset


def flat_lightcurve(tic: int = 1, sector: int = 1, cadence_min: float = 30.0,
                    noise: float = 1e-3, seed: int = 0, span: float = 27.0) -> LightCurve:
    """A flat, white-noise light curve around 1.0 for unit tests."""
    rng = np.random.default_rng(seed)
    time = 1325.0 + np.arange(0, span, cadence_min / 1440.0)
    flux = 1.0 + noise * rng.standard_normal(len(time))
    meta = LightCurveMeta(tic=tic, sector=sector, cadence_min=cadence_min, radius=1.0)
    return LightCurve.from_arrays(meta, time, flux, np.full(len(time), noise),
                                  centroid_col=np.zeros(len(time)),
                                  centroid_row=np.zeros(len(time)),
                                  background=np.zeros(len(time)))


def inject_box(lc: LightCurve, period: float, epoch: float, duration: float,
               snr: float, noise: float = 1e-3) -> LightCurve:
    """``lc`` with box transits (days; one if ``period`` is NaN) of white-noise SNR ``snr``
    against per-cadence ``noise`` (:func:`flat_lightcurve`'s default)."""
    inside = np.abs(transit_offset(lc.time, period, epoch)) < duration / 2
    depth = snr * noise / np.sqrt(inside.sum())
    return replace(lc, flux=(lc.flux - depth * inside).astype(np.float32))


def phase_offset(epoch: float, true_epoch: float, period: float) -> float:
    """Distance (days) from ``epoch`` to the nearest transit of the true ephemeris."""
    return abs((epoch - true_epoch + period / 2) % period - period / 2)

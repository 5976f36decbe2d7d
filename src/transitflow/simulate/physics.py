"""Transit physics the simulator, the injections and the tests share: Kepler's law,
inclination and duration, batman transit models, limb darkening, TESS noise, draws."""

from __future__ import annotations

import math

import batman
import numpy as np

from transitflow.signals import KEPLER_A_RSUN, transit_offset


_LD_TEFF = (3300.0, 4500.0, 5800.0, 6800.0)  # rough TESS-band quadratic coefficients
_LD_U1 = (0.16, 0.42, 0.38, 0.30)
_LD_U2 = (0.42, 0.22, 0.22, 0.26)

#: Largest impact parameter of a non-grazing planet; grazing ones reach beyond it.
MAX_PLANET_IMPACT = 0.9


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
    return full_duration_days(period, a_rs, inclination_deg(a_rs, impact, ecc, w), rp_rs, ecc, w)


def transit_model(time: np.ndarray, period: float, epoch: float, rp_rs: float, a_rs: float,
                  inclination_deg: float, u1: float, u2: float, ecc: float = 0.0,
                  w: float = 90.0, *, exposure_min: float = 0.0) -> np.ndarray:
    """Relative flux of a quadratically limb-darkened star transited by an opaque disk.

    batman, evaluated only near the transits; ``exposure_min`` > 0 integrates over the
    exposure of each cadence. ``epoch`` is a mid-transit time, ``w`` in degrees.
    """
    params = batman_params(period, epoch, rp_rs, a_rs, inclination_deg, u1, u2, ecc, w)
    half = 0.5 * full_duration_days(period, a_rs, inclination_deg, rp_rs, ecc, w)
    return batman_flux(params, time, epoch, half, exposure_min, "primary")


def full_duration_days(period: float, a_rs: float, inc: float, rp_rs: float, ecc: float, w: float,
         secondary: bool = False) -> float:
    """Contact duration of the transit (or, ``secondary``, the occultation)."""
    sign = -1.0 if secondary else 1.0
    factor = (1.0 - ecc ** 2) / (1.0 + sign * ecc * math.sin(math.radians(w)))
    impact = a_rs * math.cos(math.radians(inc)) * factor
    chord = math.sqrt(max((1.0 + rp_rs) ** 2 - impact ** 2, 0.0))
    arc = math.asin(min(chord / (a_rs * math.sin(math.radians(inc))), 1.0))
    return period / math.pi * arc * factor / math.sqrt(1.0 - ecc ** 2)


def batman_params(period, epoch, rp_rs, a_rs, inc, u1, u2, ecc, w) -> batman.TransitParams:
    params = batman.TransitParams()
    params.t0, params.per, params.rp, params.a, params.inc = epoch, period, rp_rs, a_rs, inc
    params.ecc, params.w, params.u, params.limb_dark = ecc, w, [u1, u2], "quadratic"
    params.fp, params.t_secondary = 1.0, epoch + 0.5 * period
    return params


def batman_flux(params: batman.TransitParams, time: np.ndarray, center: float, half_width: float,
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


def log_uniform(rng: np.random.Generator, low: float, high: float,
                size: int | None = None) -> float | np.ndarray:
    """A draw (or ``size`` draws) uniform in log between ``low`` and ``high``."""
    return np.exp(rng.uniform(math.log(low), math.log(high), size))


def grazing_impact(rng: np.random.Generator, rp_rs: float) -> float:
    """A random impact parameter of a grazing, V-shaped transit: on the stellar limb, from
    0.9 to ``1 + 0.8 rp_rs`` (part of the planet always covers the star)."""
    return float(rng.uniform(MAX_PLANET_IMPACT, 1.0 + 0.8 * rp_rs))


def blend_centroid_shift(offset, deficit, weight: float):
    """Flux-weighted centroid motion, px (per axis of ``offset`` by each ``deficit``), when
    a source ``offset`` px from the target that holds ``weight`` of the light dims the
    total by ``deficit``: -offset x deficit x (1 - weight) / (1 - deficit)."""
    return -np.multiply.outer(offset, np.asarray(deficit) * (1.0 - weight) / (1.0 - deficit))

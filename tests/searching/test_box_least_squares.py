"""The compiled BLS against astropy's ``BoxLeastSquares.power``, the reference it reproduces."""

from __future__ import annotations

import numpy as np
import pytest

from tests.builders import flat_lightcurve, inject_box
from transitflow.readers import read_lightcurves
from transitflow.searching import SearchConfig, bls_spectrum, detrend_for_search, period_grid
from transitflow.searching.box_least_squares import astropy_box_least_squares, box_least_squares


def assert_as_astropy(t: np.ndarray, f: np.ndarray, sigma: float, periods: np.ndarray,
                      durations: np.ndarray, oversample: int) -> np.ndarray:
    """Every output equal to astropy's to the bit (NaN where no box dips); the powers."""
    ours = box_least_squares(t, f, sigma, periods, durations, oversample)
    reference = astropy_box_least_squares(t, f, sigma, periods, durations, oversample)
    for name in ("power", "depth", "duration", "transit_time"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(reference, name),
                                      err_msg=name)
    return ours.power


@pytest.mark.parametrize("oversample", [1, 5, 50])
def test_a_transit_s_periodogram_equals_astropy_s_to_the_bit(oversample):
    lc = inject_box(flat_lightcurve(seed=3), period=3.7, epoch=1326.9, duration=0.12, snr=15)
    t, f = lc.time, lc.flux.astype(np.float64)
    periods = period_grid(float(np.ptp(t)), 0.8, 12.0, 1.4, 3.0)
    power = assert_as_astropy(t, f, float(np.std(f)), periods, np.array([0.05, 0.08, 0.12, 0.2]),
                              oversample)
    assert periods[np.argmax(power)] == pytest.approx(3.7, rel=2e-3)


def test_a_transit_at_the_first_time_wraps_as_in_astropy_with_float32_unsorted_inputs():
    lc = inject_box(flat_lightcurve(seed=5), period=2.3, epoch=1325.0, duration=0.1, snr=20)
    order = np.random.default_rng(1).permutation(len(lc.time))
    power = assert_as_astropy(lc.time[order], lc.flux[order], 9.7e-4,
                              np.linspace(2.4, 2.2, 61), np.array([0.12, 0.06, 0.09]), 5)
    assert np.linspace(2.4, 2.2, 61)[np.argmax(power)] == pytest.approx(2.3, abs=4e-3)


def test_an_inverse_variance_numpy_squares_as_astropy_does():
    """This sigma's square by ``pow`` is one unit in the last place off ``sigma * sigma``,
    which astropy's array arithmetic computes."""
    lc = inject_box(flat_lightcurve(seed=6), period=4.1, epoch=1326.0, duration=0.1, snr=12)
    assert_as_astropy(lc.time, lc.flux.astype(np.float64), 2.9561143530932098e-05,
                      np.linspace(3.9, 4.3, 21), np.array([0.06, 0.1]), 5)


def test_gaps_and_boxes_without_data_give_astropy_s_minus_infinity():
    lc = flat_lightcurve(seed=4, cadence_min=2.0, span=6.0)
    kept = (lc.time % 1.0) < 0.3  # data a third of each day: most short-period boxes empty
    t, f = lc.time[kept], lc.flux[kept].astype(np.float64)
    power = assert_as_astropy(t, f, 1e-3, np.linspace(0.97, 1.03, 25),
                              np.array([0.02, 0.04]), 5)
    assert np.isfinite(power).any()


@pytest.mark.realdata
def test_a_real_light_curve_s_periodogram_equals_astropy_s(realdata):
    [lc] = read_lightcurves(realdata / "lightcurves" / "exovetter" / "wasp18b.fits")
    flat = detrend_for_search(lc.good(), SearchConfig())
    t, f = flat.time, flat.flux.astype(np.float64)
    periods = period_grid(float(np.ptp(t)), 0.5, 5.0, 1.0, 3.0)
    power = assert_as_astropy(t, f, float(np.std(f)), periods, np.array([0.06, 0.09, 0.13]), 5)
    assert periods[np.argmax(power)] == pytest.approx(0.9415, rel=2e-3)  # WASP-18 b


def test_a_duration_as_long_as_a_period_or_no_oversampling_is_refused_as_astropy_does():
    lc = flat_lightcurve()
    with pytest.raises(ValueError, match="shorter than the shortest period"):
        box_least_squares(lc.time, lc.flux, 1e-3, np.array([0.5, 1.0]), np.array([0.5]), 5)
    with pytest.raises(ValueError, match="oversample must be at least 1"):
        box_least_squares(lc.time, lc.flux, 1e-3, np.array([1.0]), np.array([0.1]), 0)


def test_a_spectrum_with_astropy_s_engine_is_the_compiled_one_s():
    lc = detrend_for_search(inject_box(flat_lightcurve(seed=7), period=5.2, epoch=1327.1,
                                       duration=0.15, snr=14), SearchConfig())
    periods = period_grid(float(np.ptp(lc.time)), 1.0, 13.0, 1.0, 3.0)
    ours = bls_spectrum(lc, periods, SearchConfig())
    reference = bls_spectrum(lc, periods, SearchConfig(), engine=astropy_box_least_squares)
    np.testing.assert_array_equal(ours.power, reference.power)
    assert (ours.period, ours.epoch, ours.depth) == (reference.period, reference.epoch,
                                                     reference.depth)

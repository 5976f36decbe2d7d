"""Transit search: config, grids, injection-recovery, multi-planet, single events, real data."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tests.builders import flat_lightcurve, inject_box, phase_offset
from transitflow.lightcurve import LightCurve, LightCurveMeta, cadence_at, stitch
from transitflow.readers import read_lightcurves
from transitflow.searching import (SearchConfig, detrend_for_search, detrend_window,
                                   display_spectrum, full_duration, is_echo, period_grid,
                                   periodogram, search_durations, search_lightcurve,
                                   search_with_spectrum, shortest_period, stellar_density,
                                   true_multiple)
from transitflow.searching.periodograms import running_median
from transitflow.searching.star import MINUTES_PER_DAY
from transitflow.searching import transits
from transitflow.searching.transits import TransitFold, timed_ephemeris
from transitflow.signals import R_SUN_IN_R_EARTH, Signal, planet_radius_earth
from transitflow.simulate.config import SimConfig
from transitflow.simulate.physics import inclination_deg, transit_model
from transitflow.simulate.sector import simulate_stars

NOISE = 1e-3


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(("flux_column", "contamination", "undiluted"), [
    ("PDCSAP_FLUX", 0.2, 1e-2),  # SPOC's PDC already divided by CROWDSAP
    ("SAP_FLUX", 0.2, 1e-2 / 0.8),
    ("SIMULATED", 0.2, 1e-2 / 0.8),  # the simulator dilutes as SAP flux
    ("SAP_FLUX", math.nan, 1e-2),  # unknown crowding: no correction
])
def test_planet_radius_undilutes_the_depth_unless_the_flux_is_corrected(
        flux_column, contamination, undiluted):
    meta = LightCurveMeta(tic=1, sector=1, radius=0.5, contamination=contamination,
                          flux_column=flux_column)
    expected = 0.5 * math.sqrt(undiluted) * R_SUN_IN_R_EARTH
    assert planet_radius_earth(1e-2, meta) == pytest.approx(expected)


def test_from_dict_rejects_unknown_key_naming_it():
    with pytest.raises(ValueError, match="'min_periodd'") as error:
        SearchConfig.from_dict({"min_period": 0.5, "min_periodd": 1.0})
    assert "\n" not in str(error.value)


def test_from_dict_builds_config_with_list_durations():
    config = SearchConfig.from_dict({"method": "tls", "durations": [1, 2]})
    assert config.method == "tls" and config.durations == (1.0, 2.0)


@pytest.mark.parametrize("options", [{"method": "box"}, {"min_period": 0}, {"durations": []},
                                     {"min_period": 2.0, "max_period": 1.0}])
def test_config_rejects_bad_values(options):
    with pytest.raises(ValueError, match="search config"):
        SearchConfig(**options)


# ---------------------------------------------------------------- grids


def test_durations_scale_with_stellar_density():
    sun = LightCurveMeta(tic=1, sector=1, radius=1.0, mass=1.0)
    dense = replace(sun, radius=0.5, mass=0.5)  # 4 solar densities
    from_logg = replace(sun, mass=float("nan"), logg=4.438)  # solar logg -> solar mass
    config = SearchConfig(durations=(1.0, 2.0))
    assert np.allclose(search_durations(config, sun) * 24, [1.0, 2.0])
    ratio = search_durations(config, dense) / search_durations(config, sun)
    assert np.allclose(ratio, 4 ** (-1 / 3))
    assert stellar_density(from_logg) == pytest.approx(1.0, rel=1e-3)
    assert np.isnan(stellar_density(LightCurveMeta(tic=1, sector=1)))
    assert np.isnan(stellar_density(replace(sun, radius=0.0)))  # a catalogue's "unknown"
    assert detrend_window(config, dense) == pytest.approx(3 * 2 / 24 * 4 ** (-1 / 3))
    assert detrend_window(replace(config, detrend_window=0.7), dense) == 0.7


def test_no_trial_duration_is_shorter_than_the_cadence():
    """A dense M dwarf's shortest durations were below a 30-min cadence: boxes that hold
    one cadence per transit, which measured deep planets on their deepest cadences."""
    m_dwarf = LightCurveMeta(tic=1, sector=1, radius=0.3, mass=0.3, cadence_min=30.0)
    config = SearchConfig(durations=(0.5, 1.0, 2.0, 4.0))
    unfloored = search_durations(config, replace(m_dwarf, cadence_min=float("nan"))) * 24
    assert np.allclose(unfloored, np.array([0.5, 1.0, 2.0, 4.0]) * (0.3 / 0.3 ** 3) ** (-1 / 3))
    assert np.allclose(search_durations(config, m_dwarf) * 24, [0.5, *unfloored[2:]])


def test_period_grid_is_ofir_spaced():
    periods = period_grid(27.0, 0.5, 13.5, 1.0, 3.0)
    assert periods[0] >= 0.5 and periods[-1] <= 13.5 and np.all(np.diff(periods) > 0)
    # uniform in f^(1/3); denser stars have shorter transits and need more periods
    assert np.allclose(np.diff(periods ** (-1 / 3)), np.diff(periods ** (-1 / 3))[0])
    assert len(period_grid(27.0, 0.5, 13.5, 8.0, 3.0)) == pytest.approx(2 * len(periods), rel=0.01)
    # phase drift over the span at the grid step is a third of a Sun-like transit
    step = np.diff(periods)[len(periods) // 2]
    mid = periods[len(periods) // 2]
    duration = 13 / 24 * (mid / 365.25) ** (1 / 3)
    assert step * 27.0 / mid == pytest.approx(duration / 3, rel=0.05)


def test_running_median_matches_a_rolling_median_with_nans_kept():
    rng = np.random.default_rng(2)
    values = np.round(rng.normal(size=(3, 400)), 1)  # many ties
    reference = pd.DataFrame(np.pad(values, ((0, 0), (10, 10)), mode="edge").T).rolling(
        21, center=True).median().to_numpy().T[:, 10:-10]
    np.testing.assert_array_equal(running_median(values, 21), reference)
    np.testing.assert_array_equal(running_median(values[0], 21), reference[0])
    values[0, 200] = np.nan
    holey = running_median(values[0], 21)
    assert np.isnan(holey[190:211]).all() and np.isfinite(np.delete(holey, range(190, 211))).all()


def test_periodogram_peaks_at_injected_period():
    lc = inject_box(flat_lightcurve(seed=4), 3.3, 1326.1, 0.12, snr=15)
    flat = detrend_for_search(lc, SearchConfig())
    assert len(flat) > 0.99 * len(lc) and np.median(flat.flux) == pytest.approx(1.0, abs=1e-4)
    pg = periodogram(flat, SearchConfig())
    assert pg.method == "bls" and len(pg.periods) == len(pg.power) == len(pg.power_raw)
    assert pg.sde == pytest.approx(pg.power.max()) and pg.sde > SearchConfig().sde_threshold
    assert pg.period == pytest.approx(3.3, rel=3e-3)
    assert phase_offset(pg.epoch, 1326.1, 3.3) < 0.12 and pg.depth > 0


def test_a_period_whose_boxes_find_no_dip_does_not_blank_the_spectrum():
    lc = inject_box(flat_lightcurve(cadence_min=2.0), 5.0, 1327.0, 0.15, snr=20)
    flux = lc.flux.copy()
    flux[3000] = 0.0  # astropy's power is -inf at some period
    pg = periodogram(detrend_for_search(replace(lc, flux=flux), SearchConfig()), SearchConfig())
    assert np.isfinite(pg.power_raw).all() and pg.sde > SearchConfig().sde_threshold


def test_a_light_curve_with_too_few_good_cadences_is_not_searched():
    lc = inject_box(flat_lightcurve(seed=2), float("nan"), 1330.0, 0.2, snr=40)
    flux = np.full(len(lc), np.nan, dtype=lc.flux.dtype)
    flux[216:265] = lc.flux[216:265]  # 49 finite cadences, the dip among them
    assert search_lightcurve(replace(lc, flux=flux), SearchConfig()) == []


def test_the_search_returns_its_first_rounds_periodogram_the_one_a_sheet_would_compute():
    lc = inject_box(flat_lightcurve(seed=11), 2.7, 1325.6, 0.09, snr=25)
    lc = inject_box(lc, 6.1, 1328.3, 0.16, snr=15)
    signals, spectrum = search_with_spectrum(lc, SearchConfig())
    assert signals == search_lightcurve(lc, SearchConfig()) and len(signals) == 2
    whole = display_spectrum(periodogram(detrend_for_search(lc, SearchConfig()), SearchConfig()))
    np.testing.assert_array_equal(spectrum.periods, whole.periods)
    np.testing.assert_array_equal(spectrum.power, whole.power)
    too_short = flat_lightcurve(cadence_min=2.0, span=0.3)  # no period fits two transits
    assert search_with_spectrum(too_short, SearchConfig())[1] is None


def test_a_spectrum_thinned_for_display_keeps_its_peaks_and_floor_in_period_order():
    rng = np.random.default_rng(3)
    periods = np.geomspace(0.3, 13.0, 5000)[::-1]  # either order
    power = rng.normal(size=5000)
    power[1234] = 25.0
    pg = SimpleNamespace(periods=periods, power=power)
    thin = display_spectrum(pg, bins=100)
    assert len(thin.periods) <= 200 and np.all(np.diff(thin.periods) > 0)
    assert thin.power.max() == 25.0 and thin.periods[thin.power.argmax()] == periods[1234]
    assert thin.power.min() == power.min()
    assert set(zip(thin.periods, thin.power)) <= set(zip(periods, power))
    short = display_spectrum(SimpleNamespace(periods=periods[:150], power=power[:150]), bins=100)
    np.testing.assert_array_equal(short.periods, periods[:150][::-1])
    power[1235] = np.nan  # beside the peak: not taken for its bin's highest power
    assert display_spectrum(pg, bins=100).power.max() == 25.0
    assert display_spectrum(None) is None
    assert display_spectrum(SimpleNamespace(periods=np.array([]), power=np.array([]))) is None


# ---------------------------------------------------------------- simulated searches

INJECTIONS = [  # period d, epoch BTJD, duration d, cadence min
    (0.9, 1325.50, 0.07, 30.0),
    (2.4, 1326.70, 0.10, 30.0),
    (4.1, 1327.20, 0.15, 30.0),
    (5.7, 1329.90, 0.13, 30.0),
    (3.3, 1325.85, 0.09, 2.0),
]


@pytest.mark.parametrize("period, epoch, duration, cadence", INJECTIONS)
def test_injection_recovered(period, epoch, duration, cadence):
    lc = inject_box(flat_lightcurve(seed=int(period * 10), cadence_min=cadence),
                    period, epoch, duration, snr=14)
    signals = search_lightcurve(lc, SearchConfig())
    assert len(signals) == 1
    found = signals[0]
    assert found.snr >= 10 and found.kind == "periodic" and found.method == "bls"
    assert abs(found.period / period - 1) < 1e-3
    assert phase_offset(found.epoch, epoch, period) < duration
    assert found.n_transits == len(found.transit_times) == len(found.transit_depths)
    assert lc.time[0] <= found.epoch < lc.time[0] + period + duration
    assert np.isfinite(found.radius_earth) and found.key == "1-s0001-0"


def test_two_planets_both_recovered():
    lc = inject_box(flat_lightcurve(seed=11), 2.7, 1325.6, 0.09, snr=25)
    lc = inject_box(lc, 6.1, 1328.3, 0.16, snr=15)
    signals = search_lightcurve(lc, SearchConfig())
    periods = sorted(s.period for s in signals)
    assert len(signals) == 2 and [s.index for s in signals] == [0, 1]
    assert periods == pytest.approx([2.7, 6.1], rel=1e-3)


def test_single_transit_found():
    epoch, duration = 1338.4, 0.25
    lc = inject_box(flat_lightcurve(seed=5, cadence_min=10), float("nan"), epoch, duration, snr=15)
    signals = search_lightcurve(lc, SearchConfig())
    assert len(signals) == 1
    single = signals[0]
    assert (single.kind, single.method, single.n_transits) == ("single", "single_event", 1)
    assert np.isnan(single.period) and np.isnan(single.sde) and single.snr > 8
    assert abs(single.epoch - epoch) < duration / 4
    assert single.duration == pytest.approx(duration, rel=0.3)
    assert single.transit_times == (single.epoch,)


def sectors_of_two_cadences() -> LightCurve:
    """27 days at 30 minutes joined to 13 days at 2 minutes, a day apart."""
    slow = flat_lightcurve(cadence_min=30.0)
    fast = flat_lightcurve(sector=2, cadence_min=2.0, span=13.0)
    return stitch([slow, replace(fast, time=fast.time + 28.0)])


def test_the_cadence_at_a_time_is_its_sectors_whatever_the_gaps():
    joined = sectors_of_two_cadences()
    joined = joined.select((joined.time < 1338.0) | (joined.time > 1339.2))  # the orbit gap
    cadences = cadence_at(joined.time, np.array([1325.0, 1339.25, 1351.5, 1353.5, 1360.0]))
    np.testing.assert_allclose(cadences * MINUTES_PER_DAY, [30, 30, 30, 2, 2], rtol=1e-6)
    assert np.isnan(cadence_at(np.array([1325.0]), 1325.0))


def test_a_single_transit_in_the_slower_of_two_joined_sectors_is_found():
    lc = inject_box(sectors_of_two_cadences(), float("nan"), 1335.0, 0.15, snr=40)
    [single] = search_lightcurve(lc, SearchConfig())
    assert single.kind == "single" and abs(single.epoch - 1335.0) < 0.05


NINE_OUTLIERS = [2.6, 4.3, 5.5, 9.1, 10.4, 14.2, 18.8, 20.5, 24.7]  # days, off the transits


@pytest.mark.parametrize("cadence, days, fluxes", [
    (30.0, [2.1, 10.4, 18.8], [-2.0, 0.0, 0.3]),
    (2.0, [2.1, 10.4, 18.8], [-2.0, 0.0, 0.3]),
    (30.0, NINE_OUTLIERS, np.linspace(-1.0, 0.8, 9)),
    (2.0, NINE_OUTLIERS, np.linspace(-1.0, 0.8, 9)),
])
def test_outlying_low_cadences_are_no_single_events_and_hide_no_planet(cadence, days, fluxes):
    # more outliers than the search has rounds: they are masked together, in one round
    lc = inject_box(flat_lightcurve(cadence_min=cadence), 5.0, 1327.0, 0.15, snr=20)
    flux = lc.flux.copy()
    per_day = 1440 / cadence
    flux[(np.array(days) * per_day).astype(int)] = fluxes
    [planet] = search_lightcurve(replace(lc, flux=flux), SearchConfig())
    assert planet.kind == "periodic" and planet.period == pytest.approx(5.0, rel=1e-3)


def test_outlying_low_cadences_leave_a_single_transit_to_be_found():
    lc = inject_box(flat_lightcurve(), float("nan"), 1337.0, 0.2, snr=40)
    flux = lc.flux.copy()
    flux[(np.array(NINE_OUTLIERS) * 48).astype(int)] = np.linspace(-1.0, 0.8, 9)
    [single] = search_lightcurve(replace(lc, flux=flux), SearchConfig())
    assert single.kind == "single" and abs(single.epoch - 1337.0) < 0.05


@pytest.mark.parametrize("seed, cadence", [(0, 30.0), (1, 30.0), (2, 30.0), (3, 2.0)])
def test_pure_noise_gives_no_signal(seed, cadence):
    assert search_lightcurve(flat_lightcurve(seed=seed, cadence_min=cadence), SearchConfig()) == []


def test_no_signal_is_dropped_for_its_size():
    lc = inject_box(flat_lightcurve(seed=6), 3.1, 1326.0, 0.1, snr=300)  # ~5 %: ~2.3 R_Jup
    [found] = search_lightcurve(lc, SearchConfig())
    assert found.radius_earth / 11.209 > 1.8 and found.period == pytest.approx(3.1, rel=1e-3)


@pytest.mark.slow
def test_tls_method_maps_results():
    lc = inject_box(flat_lightcurve(seed=3), 3.3, 1326.1, 0.1, snr=15)
    signals = search_lightcurve(lc, SearchConfig(method="tls"))
    assert len(signals) == 1 and signals[0].method == "tls"
    assert signals[0].period == pytest.approx(3.3, rel=3e-3)  # TLS's own grid, unrefined
    assert phase_offset(signals[0].epoch, 1326.1, 3.3) < 0.1 and signals[0].sde > 9


# ---------------------------------------------------------------- real light curves


def _real(realdata, name: str, **override) -> LightCurve:
    [lc] = read_lightcurves(realdata / "lightcurves" / name, **override)
    return lc


def test_two_transits_take_their_separation_as_the_period():
    # 20 d apart in 27 days of data; the epoch between them (a 10 d alias) falls in a gap
    lc = inject_box(flat_lightcurve(seed=5), 20.0, 1330.0, 0.15, snr=40)
    [signal] = search_lightcurve(lc.select(np.abs(lc.time - 1340.0) > 1.0))
    assert signal.kind == "periodic" and signal.n_transits == 2
    assert signal.period == pytest.approx(20.0, abs=0.02) and signal.epoch == pytest.approx(
        1330.0, abs=0.02)
    capped = search_lightcurve(lc.select(np.abs(lc.time - 1340.0) > 1.0),
                               SearchConfig(max_period=12.0))
    assert capped[0].period == pytest.approx(10.0, abs=0.02)  # the separation exceeds the range


@pytest.mark.parametrize("seed", [0, 3])
def test_two_short_transits_are_timed_one_by_one(seed):
    # a 1.3-h transit at 30-min cadence: the fold's likelihood is flat over 0.04 d of period
    # and its first period is 8-20 min short; each transit timed on its own is not
    period, epoch, a_rs = 20.854237, 1331.041444, 110.0
    lc = flat_lightcurve(seed=seed)
    model = transit_model(lc.time, period, epoch, 0.12, a_rs, inclination_deg(a_rs, 0.5),
                          0.4, 0.25, exposure_min=30.0)
    [signal, *_] = search_lightcurve(replace(lc, flux=(lc.flux * model).astype(np.float32)))
    assert signal.n_transits == 2
    assert abs(signal.period - period) * MINUTES_PER_DAY < 3
    assert abs(signal.epoch - epoch) * MINUTES_PER_DAY < 3


def test_only_transits_that_hold_a_dip_are_timed():
    lc = inject_box(flat_lightcurve(seed=1), 20.0, 1330.0, 0.2, snr=60)  # dips at 1330, 1350
    t, f = lc.time, lc.flux.astype(np.float64)
    counts = np.full(3, 9)
    fold = TransitFold(depth=0.0, depth_err=0.0, times=np.array([1330.0, 1340.0, 1350.0]),
                       counts=counts, depths=np.array([0.01, 0.0, 0.01]))
    period, epoch = timed_ephemeris(t, f, fold, 10.0, 0.2, NOISE)  # the empty one left out
    assert period == pytest.approx(10.0, abs=0.005) and epoch == pytest.approx(1330.0, abs=0.01)
    one_dip = replace(fold, depths=np.array([0.01, 0.0, 0.0]))
    assert timed_ephemeris(t, f, one_dip, 10.0, 0.2, NOISE) is None


def test_a_short_transit_on_one_cadence_is_timed_and_a_gapped_one_is_not(monkeypatch):
    """TIC 9000001547 of the shifted sector: 1.1-h transits at 30-min cadence, the third on
    a single cadence. Coverage counts the cadences of the timing window, not of the box, so
    that transit is timed; one with half its window in a gap is not."""
    timed, time_one = [], transits.transit_time
    monkeypatch.setattr(transits, "transit_time",
                        lambda t, f, centre, *args: timed.append(centre) or time_one(
                            t, f, centre, *args))
    lc = inject_box(flat_lightcurve(seed=2), 10.0, 1330.0, 0.05, snr=60)
    fold = TransitFold(depth=0.0, depth_err=0.0, times=np.array([1330.0, 1340.0, 1350.0]),
                       counts=np.array([2, 2, 1]), depths=np.full(3, 0.01))
    period, _ = timed_ephemeris(lc.time, lc.flux.astype(np.float64), fold, 10.0, 0.05, NOISE)
    assert timed == [1330.0, 1340.0, 1350.0] and period == pytest.approx(10.0, abs=0.01)
    timed.clear()
    gapped = lc.select(np.abs(lc.time - 1350.03) > 0.05)
    timed_ephemeris(gapped.time, gapped.flux.astype(np.float64), fold, 10.0, 0.05, NOISE)
    assert timed == [1330.0, 1340.0]


@pytest.mark.parametrize("seed", range(3))
def test_a_planet_is_reported_at_its_period_not_a_fraction_with_empty_transits(seed):
    # two transits 14 d apart: the periodogram peaks at 7 d, whose other transits are empty
    lc = inject_box(flat_lightcurve(seed=seed), 14.0, 1328.0, 0.15, snr=40)
    [signal] = search_lightcurve(lc)
    assert signal.kind == "periodic" and signal.n_transits == 2
    assert signal.period == pytest.approx(14.0, abs=0.03)


def test_the_shortest_period_is_the_closest_orbit_of_a_star_of_known_density():
    assert shortest_period(0.2, math.nan) == 0.2  # density unknown
    assert shortest_period(0.2, 1.0) == pytest.approx(0.328, abs=1e-3)  # a/R* = 2, the Sun
    assert shortest_period(0.2, 20.0) == 0.2  # an M dwarf: the configured floor


def test_an_ultra_short_period_around_an_m_dwarf_is_found_at_its_period():
    lc = flat_lightcurve(cadence_min=2.0, seed=3)
    dwarf = replace(lc, meta=replace(lc.meta, radius=0.2, mass=0.18))  # 22 solar densities
    [signal, *_] = search_lightcurve(inject_box(dwarf, 0.23, 1325.1, 0.02, snr=40))
    assert signal.period == pytest.approx(0.23, rel=1e-3)


def test_true_multiple_needs_every_other_transit_empty():
    errs, cycles = np.full(5, 1.0), np.arange(5)
    # every third transit full; one empty cycle holds another planet's shallow transit
    multiple, kept = true_multiple(np.array([5.0, 73.0, 0.5, 0.3, 72.0]), errs, cycles, 3.0)
    assert multiple == 3 and kept.tolist() == [False, True, False, False, True]
    assert true_multiple(np.array([70.0, 73.0, 0.5, 71.0, 72.0]), errs, cycles, 3.0)[0] == 1
    assert true_multiple(np.array([70.0, 2.0, 71.0, 50.0, 72.0]), errs, cycles, 3.0)[0] == 1
    assert true_multiple(np.array([70.0, 0.0, 0.0, 0.0, 0.0]), errs, cycles, 3.0)[0] == 1


@pytest.mark.realdata
def test_wasp18b_period(realdata):
    [found] = search_lightcurve(_real(realdata, "exovetter/wasp18b.fits"))
    assert found.period == pytest.approx(0.941453, rel=2e-4)
    assert phase_offset(found.epoch, 1354.458, 0.941453) < 2.05 / 24
    assert found.n_transits >= 25 and found.depth == pytest.approx(0.0100, rel=0.15)


@pytest.mark.realdata
def test_toi237b_period(realdata):
    lc = _real(realdata, "tls/toi237.csv", tic=305048087, sector=2)
    found = search_lightcurve(lc)[0]
    assert found.period == pytest.approx(5.436167, rel=1e-3)
    assert phase_offset(found.epoch, 1355.242, 5.436167) < 1.54 / 24
    assert found.n_transits >= 4  # the first event sits at the sector edge


@pytest.mark.realdata
def test_toi813b_single_transit(realdata):
    found = search_lightcurve(_real(realdata, "tesslatte/tic55525572_lc.fits"))[0]
    assert found.kind == "single" and abs(found.epoch - 1454.69) < 0.1
    assert 6.5 / 24 < found.duration < 26 / 24 and found.depth == pytest.approx(1.2e-3, rel=0.3)


@pytest.mark.realdata
def test_equal_eclipse_binary_finds_both_eclipses(realdata):
    period, epoch = 2.968452, 1324.35463
    lc = _real(realdata, "qusi/tess2018206045859-s0001-0000000117544915-0120-s_lc.fits")
    signals = search_lightcurve(lc)
    at_period = [s for s in signals
                 if min(abs(s.period / period - 1), abs(2 * s.period / period - 1)) < 2e-3]
    assert at_period
    found = np.concatenate([s.transit_times for s in at_period])
    good = lc.good()
    eclipses = epoch + period * np.arange(0, 30, 0.5)
    with_data = [e for e in eclipses if np.any(np.abs(good.time - e) < 0.05)]
    assert len(with_data) >= 14  # primaries and secondaries
    assert all(np.min(np.abs(found - e)) < 0.05 for e in with_data)


@pytest.mark.realdata
@pytest.mark.slow
def test_wasp47_three_planets(realdata):
    signals = search_lightcurve(_real(realdata, "dave/ktwo206103150-c03_llc.fits"))
    assert sorted(s.period for s in signals) == pytest.approx([0.78961, 4.1591, 9.0307], rel=1e-3)


@pytest.mark.realdata
@pytest.mark.slow
def test_quiet_m_dwarf_has_no_signal(realdata):
    lc = _real(realdata, "qusi/tess2018206045859-s0001-0000000150065151-0120-s_lc.fits")
    assert search_lightcurve(lc) == []


@pytest.mark.realdata
def test_lone_primary_and_secondary_are_single_events(realdata):
    # TIC 382067804 (P=26.13 d): sector 7 holds one primary and one secondary eclipse; a
    # periodic fit through either rests on that one event, so both are single events
    name = "tess2019006130736-s0007-0000000382067804-0131-s_lc.fits"
    lc = _real(realdata, f"modebs/tic-382067804/{name}")
    signals = search_lightcurve(lc, SearchConfig(max_signals=2))
    assert [s.kind for s in signals] == ["single", "single"]
    epoch, period = 1417.8377725, 26.131358  # secondary at phase ~0.697
    assert sorted(s.epoch for s in signals) == pytest.approx(
        [epoch + 3 * period, epoch + 3.697 * period], abs=0.05)


# ---------------------------------------------------------------- sectors joined


def _joined(realdata, pattern: str) -> LightCurve:
    files = sorted((realdata / "lightcurves").glob(pattern))
    return stitch([lc for path in files for lc in read_lightcurves(path)])


@pytest.mark.realdata
def test_one_eclipse_per_sector_joins_into_one_periodic_signal(realdata):
    # TIC 382067804 (P=26.13 d, S3-S7): one primary per sector; searched alone, each sector
    # holds single events (test above)
    [primary, *_] = search_lightcurve(_joined(realdata, "modebs/tic-382067804/*.fits"))
    assert primary.kind == "periodic" and primary.n_transits == 5
    assert primary.period == pytest.approx(26.131358, rel=1e-3)


@pytest.mark.realdata
def test_two_eclipses_sectors_apart_link_beyond_half_the_span(realdata):
    # TIC 350298314 (P=47.7 d): one eclipse in each of S63 and S65, 82 days of data
    lc = _joined(realdata, "modebs/tic-350298314/*.fits")
    [eclipses, *_] = search_lightcurve(lc)
    assert eclipses.kind == "periodic" and eclipses.n_transits == 2
    assert eclipses.period == pytest.approx(47.7, rel=2e-3) and eclipses.period > np.ptp(lc.time) / 2


@pytest.mark.realdata
@pytest.mark.slow
def test_a_multi_planet_system_is_found_whole_in_its_joined_sectors(realdata):
    # L 98-59 b, c, d over 330 days (TOI-1798's 950 days: the real-data workflow test)
    signals = search_lightcurve(_joined(realdata, "sherlock/TOI-175_TIC307210830_lc_data.csv"))
    assert sorted(s.period for s in signals) == pytest.approx([2.253106, 3.690676, 7.45073],
                                                             rel=1e-3)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["tess2023069172124-s0063-0000000350298314-0255-s_lc.fits",
                                  "tess2023124020739-s0065-0000000350298314-0259-s_lc.fits"])
def test_a_deep_eclipse_is_not_linked_to_shallow_events(realdata, name):
    # TIC 350298314 (P=47.7 d): one 14% eclipse per sector; a periodic fit through it and
    # its 0.1% secondary (or noise) would rest on that one event
    lc = _real(realdata, f"modebs/tic-350298314/{name}")
    eclipse, *others = search_lightcurve(lc, SearchConfig(max_signals=2))
    assert eclipse.kind == "single" and eclipse.depth > 0.1
    assert all(abs(other.epoch - eclipse.epoch) > 0.3 for other in others)  # no wing echo


def echo_signal(period: float, epoch: float, duration: float = 0.1,
                depth: float = 1e-3) -> Signal:
    single = math.isnan(period)
    return Signal(1, 1, 0, "single" if single else "periodic", "bls", period, epoch, duration,
                  depth, 1e-4, 10.0, math.nan if single else 10.0, 1 if single else 5, (epoch,),
                  (depth,), math.nan)


def test_echoes_fall_on_an_earlier_signals_events_at_its_period_half_or_double():
    earlier, masked, span = echo_signal(2.0, 1400.0), 0.2, 27.0  # two durations masked
    assert is_echo(echo_signal(2.001, 1400.15), earlier, masked, span)  # the eclipse's wing
    assert is_echo(echo_signal(4.0, 1402.05), earlier, masked, span)  # every other event
    assert is_echo(echo_signal(math.nan, 1406.1), earlier, masked, span)  # one of them
    assert not is_echo(echo_signal(2.0, 1401.0), earlier, masked, span)  # phase 0.5
    assert not is_echo(echo_signal(3.0, 1400.0), earlier, masked, span)  # another period
    assert not is_echo(echo_signal(2.0, 1400.0), echo_signal(math.nan, 1400.0), masked, span)
    assert is_echo(echo_signal(math.nan, 1400.3), earlier, 0.5, span)  # a wider mask reaches
    # a transit of another planet beside one of a short period's: deeper than its events
    assert not is_echo(echo_signal(math.nan, 1406.1, depth=3e-3), earlier, masked, span)
    assert is_echo(echo_signal(math.nan, 1406.1, depth=1e-3), earlier, masked, span)  # as deep
    # but not deeper than the transit it is beside: a fold through primaries and
    # secondaries is shallower than the primaries
    folded = replace(earlier, transit_times=(1400.0, 1402.0, 1404.0, 1406.0),
                     transit_depths=(5e-3, 1e-4, 5e-3, 1e-4))
    assert is_echo(echo_signal(math.nan, 1404.1, depth=3e-3), folded, masked, span)
    assert not is_echo(echo_signal(math.nan, 1406.1, depth=3e-3), folded, masked, span)
    # nor shorter: the sliver of a transit that a drifting ephemeris left outside the mask,
    # at full depth (the transit measured at the ephemeris: shallower)
    drifting = replace(earlier, transit_times=(1400.0, 1402.0, 1404.0, 1406.0),
                       transit_depths=(1e-3, 1e-3, 9e-4, 5e-4))
    assert is_echo(echo_signal(math.nan, 1406.11, duration=0.03, depth=1.1e-3), drifting,
                   masked, span)
    assert not is_echo(echo_signal(math.nan, 1406.11, duration=0.1, depth=1.1e-3), drifting,
                       masked, span)


def test_a_faint_signal_locked_to_a_stellar_eclipse_is_its_phase_curve_wherever_it_lies():
    eclipse, masked, span = echo_signal(2.0, 1400.0, depth=0.3), 0.2, 27.0
    assert is_echo(echo_signal(4.0002, 1400.6, depth=7e-4), eclipse, masked, span)  # CM Dra
    assert is_echo(echo_signal(1.0, 1400.45, depth=0.015), eclipse, masked, span)  # ellipsoidal
    assert not is_echo(echo_signal(2.0, 1401.0, depth=0.02), eclipse, masked, span)  # secondary
    assert not is_echo(echo_signal(3.0, 1400.6, depth=7e-4), eclipse, masked, span)  # a planet
    # within the period tolerance, but drifting by 0.11 d over the data, more than its
    # duration: a near-resonant planet
    assert not is_echo(echo_signal(4.016, 1400.6, depth=7e-4), eclipse, masked, span)
    hot_jupiter = echo_signal(2.0, 1400.0, depth=0.01)  # no stellar eclipse: no phase curve
    assert not is_echo(echo_signal(4.0, 1400.6, depth=3e-4), hot_jupiter, masked, span)


def test_a_shallow_signal_on_a_stellar_eclipses_events_is_their_residue_unless_by_chance():
    # an eccentric binary found at a third of its period (primaries and secondaries folded
    # together) leaves the wings of two secondaries, at six times that period
    eclipses, masked, span = echo_signal(3.0803, 1328.057, depth=0.11), 0.28, 27.0

    def later(depth: float = 5e-3, second: float = 1346.396, period: float = 18.4722,
              first: float = 1327.924) -> Signal:
        return replace(echo_signal(period, first, duration=0.022, depth=depth),
                       transit_times=(first, second))

    assert is_echo(later(), eclipses, masked, span)  # chance 1.1%
    assert not is_echo(later(depth=0.02), eclipses, masked, span)  # deeper than a residue
    assert not is_echo(later(second=1347.5), eclipses, masked, span)  # one transit off them
    giant = replace(eclipses, depth=0.05)  # a giant planet, not a stellar eclipse
    assert not is_echo(later(depth=5e-4), giant, masked, span)
    contact = echo_signal(0.35, 1328.0, depth=0.15)  # its masks cover most of any orbit
    assert not is_echo(later(period=10.15, first=1328.0, second=1338.15), contact, 0.25, span)


def test_an_eccentric_binary_found_at_a_third_of_its_period_gives_no_other_signal():
    batch = simulate_stars(SimConfig(n_stars=2000, sector=1, cadence_min=30.0), 382, 383)
    [truth] = batch.signals.itertuples()  # the default sector's TIC 9000000382
    assert truth.sim_class == "eb" and truth.secondary_phase == pytest.approx(1 / 3, abs=0.01)
    [eclipses] = search_lightcurve(batch.light_curves[0], SearchConfig())
    assert eclipses.period == pytest.approx(truth.period / 3, rel=1e-3)


def test_the_full_duration_reaches_a_v_shaped_eclipses_wings():
    lc = flat_lightcurve(seed=6, cadence_min=2.0)
    offset = np.abs((lc.time - 1330.0 + 2.5) % 5.0 - 2.5)
    v_shaped = replace(lc, flux=(lc.flux - 0.05 * np.clip(1 - offset / 0.15, 0, None)).astype(
        np.float32))  # T14 = 0.3 d; a box finds its deep core
    core = echo_signal(5.0, 1330.0, duration=0.1)
    assert full_duration(v_shaped, core) == pytest.approx(0.3, abs=0.03)
    box = inject_box(lc, 5.0, 1330.0, 0.1, snr=40)
    assert full_duration(box, core) == pytest.approx(0.1, abs=0.021)


def test_the_full_duration_of_a_transit_sampled_at_a_few_phases_only():
    """A period of exactly 114 half-hour cadences samples the 0.08-d transit at four
    phases, a cadence apart, whatever the number of transits; a one-cadence box finds its
    core. Masking that box alone would leave the transit's sides as noise in other folds."""
    lc = flat_lightcurve(seed=9)
    cadence = 30.0 / 1440.0
    period, epoch = 114 * cadence, float(lc.time[30]) + 0.25 * cadence
    sampled = inject_box(lc, period, epoch, 0.08, snr=200)
    core = echo_signal(period, epoch, duration=cadence)
    assert full_duration(sampled, core) == pytest.approx(0.08, abs=cadence)


@pytest.mark.parametrize("ends_before", [True, False])
def test_the_full_duration_of_an_event_whose_data_stop_at_its_middle_is_its_box(ends_before):
    lc = flat_lightcurve(seed=4)
    lc = lc.select(lc.time < 1340.0 if ends_before else lc.time > 1340.0)
    event = echo_signal(float("nan"), 1340.03 if ends_before else 1339.97, duration=0.1)
    assert full_duration(lc, event) == pytest.approx(0.1)


def test_another_planets_transits_folded_in_leave_the_full_duration_alone():
    """WASP-47 e and b as K2 saw them: b's 1% transits, folded at e's 0.79 d period, land
    in many phase bins; bin means would read them as e's wings (T14 4x too long)."""
    lc = flat_lightcurve(seed=3, span=80.0, noise=6e-4)
    both = inject_box(inject_box(lc, 0.7896, 1325.3, 0.09, snr=20), 4.159, 1326.1, 0.13,
                      snr=800)
    assert full_duration(both, echo_signal(0.7896, 1325.3, duration=0.09)) == pytest.approx(
        0.09, abs=0.03)


@pytest.mark.realdata
def test_a_deep_eclipse_spends_no_search_slot_on_its_echoes(realdata):
    lc = _real(realdata, "qusi/tess2018206045859-s0001-0000000117544915-0120-s_lc.fits")
    [eclipses] = search_lightcurve(lc, SearchConfig(max_signals=3))
    assert eclipses.period == pytest.approx(2.968452 / 2, rel=2e-3)

"""The simulated TESS sectors: determinism, the sector's systematics and the planted truth."""

import math

import batman
import numpy as np
from astropy.coordinates import SkyCoord
import pytest

from transitflow.lightcurve import ARRAY_FIELDS, MOMENTUM_DUMP_BIT
from transitflow.simulate import (LABELS, SIGNAL_COLUMNS, SIM_TIC_OFFSET, STAR_COLUMNS,
                                  SimConfig, inclination_deg, simulate_stars, transit_duration,
                                  transit_model)


@pytest.fixture(scope="module")
def mixed():
    return simulate_stars(SimConfig(n_stars=120, seed=7))


@pytest.fixture(scope="module")
def transiting():
    fractions = {"planet": 0.4, "eb": 0.3, "beb": 0.3}
    return simulate_stars(SimConfig(n_stars=60, seed=3, cadence_min=2.0,
                                    class_fractions=fractions))


def good(lc):
    return lc.select(lc.quality == 0)


def contrast(lc, values, signal, clear, phase=0.0):
    """How far ``values`` in the middle of the events fall below a line through the cadences
    beside them (median over the events), and its noise; events with a cadence not ``clear``
    are left out (NaN if all are)."""
    periodic = not math.isnan(signal.period)
    offset = lc.time - signal.epoch - (phase * signal.period if periodic else 0.0)
    cycle = np.round(offset / signal.period) if periodic else np.zeros(len(offset))
    if periodic:
        offset -= cycle * signal.period
    reach = 0.75 * signal.duration + (min(0.3, 0.2 * signal.period) if periodic else 0.3)
    window = np.abs(offset) < reach
    differences, n_inside = [], 0
    for k in np.unique(cycle[window]):
        event = window & (cycle == k)
        inside = event & (np.abs(offset) < 0.25 * signal.duration)
        ring = event & (np.abs(offset) > 0.75 * signal.duration)
        if inside.any() and ring.sum() > 2 and clear[event].all():
            baseline = np.polyval(np.polyfit(offset[ring], values[ring], 1), offset[inside])
            differences.append(np.median(baseline - values[inside]))
            n_inside += inside.sum()
    if not differences:
        return math.nan, math.nan
    scatter = 1.4826 * np.median(np.abs(np.diff(values[clear]))) / math.sqrt(2.0)
    return float(np.median(differences)), 1.6 * scatter / math.sqrt(n_inside)


def relative_flux(lc):
    return lc.flux / np.median(lc.flux)


def light_curve(batch, key):
    return next(lc for lc in batch.light_curves if lc.meta.key == key)


def measurable(batch, query):
    """Signals matching ``query`` with an event clear of momentum dumps and of the star's
    other signals; with their light curves and clear cadences."""
    for signal in batch.signals.query(query).itertuples():
        lc = light_curve(batch, signal.key)
        clear = lc.quality == 0
        others = batch.signals[(batch.signals.key == signal.key)
                               & (batch.signals.signal_index != signal.signal_index)]
        for other in others.itertuples():
            offset = lc.time - other.epoch
            if other.kind == "periodic":
                offset = (offset + 0.5 * other.period) % other.period - 0.5 * other.period
            clear &= np.abs(offset) > 0.5 * other.duration
        if not math.isnan(contrast(lc, lc.flux, signal, clear)[0]):
            yield signal, lc, clear


def test_a_star_is_the_same_whatever_batch_simulates_it():
    config = SimConfig(n_stars=8, seed=11)
    whole, part = simulate_stars(config, 0, 8), simulate_stars(config, 5, 7)
    for a, b in zip(whole.light_curves[5:7], part.light_curves):
        assert a.meta == b.meta
        assert all(np.array_equal(getattr(a, name), getattr(b, name)) for name in ARRAY_FIELDS)
    assert whole.stars.iloc[5:7].reset_index(drop=True).equals(part.stars)
    assert whole.signals[whole.signals.tic.isin(part.stars.tic)].reset_index(drop=True).equals(
        part.signals)
    other = simulate_stars(SimConfig(n_stars=8, seed=12), 5, 6).light_curves[0]
    assert not np.array_equal(other.flux, part.light_curves[0].flux)


def test_a_star_keeps_its_planets_and_ephemeris_in_another_sector():
    fractions = {"planet": 1.0}
    first = simulate_stars(SimConfig(n_stars=6, class_fractions=fractions, sector=1))
    third = simulate_stars(SimConfig(n_stars=6, class_fractions=fractions, sector=3))
    periodic = (first.signals.kind == "periodic").to_numpy()
    a, b = first.signals[periodic], third.signals[periodic]
    assert np.allclose(a.rp_rearth, b.rp_rearth) and np.allclose(a.period, b.period)
    cycles = (b.epoch.to_numpy() - a.epoch.to_numpy()) / a.period.to_numpy()
    assert np.allclose(cycles, np.round(cycles), atol=1e-6) and (cycles > 0).all()
    assert not np.array_equal(first.light_curves[0].flux, third.light_curves[0].flux)
    assert [(lc.meta.ra, lc.meta.dec) for lc in first.light_curves] == [
        (lc.meta.ra, lc.meta.dec) for lc in third.light_curves]


def test_stars_lie_within_12_degrees_of_the_southern_ecliptic_pole():
    metas = [lc.meta for lc in simulate_stars(SimConfig(n_stars=200)).light_curves]
    stars = SkyCoord([m.ra for m in metas], [m.dec for m in metas], unit="deg")
    separation = SkyCoord(ra=90.0, dec=-66.56, unit="deg").separation(stars).deg
    assert separation.max() < 12.0 and separation.min() < 2.0 and np.median(separation) > 6.0


def test_class_fractions_are_honoured():
    stars = simulate_stars(SimConfig(n_stars=300, seed=5)).stars
    config = SimConfig()
    counts = stars.sim_class.value_counts()
    for name, fraction in config.fractions.items():
        assert abs(counts.get(name, 0) / 300 - fraction) < 0.02, name
    assert (stars.label == stars.sim_class.map(LABELS)).all()
    only = simulate_stars(SimConfig(n_stars=100, class_fractions={"planet": 0.5})).stars
    assert set(only.sim_class) == {"planet", "quiet"}
    assert abs((only.sim_class == "planet").mean() - 0.5) < 0.03


@pytest.mark.parametrize("cadence_min", [2.0, 200.0 / 60.0, 10.0, 30.0])
def test_sector_has_the_cadence_and_the_downlink_gap(cadence_min):
    lc = simulate_stars(SimConfig(n_stars=1, sector=3, cadence_min=cadence_min)).light_curves[0]
    steps = np.diff(lc.time)
    assert np.median(steps) * 1440.0 == pytest.approx(cadence_min, rel=1e-6)
    assert lc.meta.cadence_min == cadence_min
    start = 1325.3 + 2 * 27.4
    assert lc.time[0] == pytest.approx(start, abs=0.05)
    assert lc.time[-1] - lc.time[0] == pytest.approx(27.4, abs=0.05)
    gap = np.argmax(steps)
    assert 0.9 < steps[gap] < 1.1 and 12.5 < lc.time[gap] - start < 14.0
    assert np.sort(steps)[-2] < 2 * cadence_min / 1440.0  # one gap only


def test_momentum_dumps_are_flagged_and_shift_the_pointing(mixed):
    flagged = [np.flatnonzero(lc.quality & MOMENTUM_DUMP_BIT) for lc in mixed.light_curves]
    assert all(np.array_equal(f, flagged[0]) for f in flagged)
    times = mixed.light_curves[0].time[flagged[0]]
    spacing = np.diff(times)
    assert len(times) >= 6
    assert ((spacing > 2.49) & (spacing < 3.11)).sum() >= len(spacing) - 1  # but across the gap

    def steps(index):
        return np.median([lc.centroid_col[index + 1] - lc.centroid_col[index - 1]
                          for lc in mixed.light_curves], axis=0)

    quiet = np.setdiff1d(np.arange(5, len(mixed.light_curves[0]) - 5, 7),
                         np.r_[flagged[0], flagged[0] + 1, flagged[0] - 1])
    assert np.sqrt(np.mean(steps(flagged[0]) ** 2)) > 5 * np.sqrt(np.mean(steps(quiet) ** 2))


@pytest.mark.parametrize("tmag, ppm_per_hour", [(8.0, 75.0), (14.0, 2650.0)])
def test_noise_follows_tmag(tmag, ppm_per_hour):
    config = SimConfig(n_stars=4, cadence_min=10.0, tmag_range=(tmag, tmag + 0.01),
                       class_fractions={"quiet": 1.0}, active_fraction=0.0)
    for lc in simulate_stars(config).light_curves:
        flux = relative_flux(good(lc))
        per_cadence = 1.4826 * np.median(np.abs(np.diff(flux))) / math.sqrt(2.0)
        measured = 1e6 * per_cadence * math.sqrt(10.0 / 60.0)
        assert 0.6 * ppm_per_hour < measured < 1.6 * ppm_per_hour
        assert np.median(lc.flux_err / lc.flux) == pytest.approx(per_cadence, rel=0.15)


def test_planted_planets_have_their_truth_depth(transiting):
    planets = list(measurable(transiting, "sim_class == 'planet' and snr > 20 and impact < 0.7"))
    assert len(planets) >= 5
    for signal, lc, clear in planets:
        depth, noise = contrast(lc, relative_flux(lc), signal, clear)
        assert abs(depth - signal.depth) < 0.1 * signal.depth + 4 * noise, signal.key


def test_eb_secondary_eclipses_sit_at_the_truth_phase(transiting):
    ebs = transiting.signals.query("sim_class == 'eb' and secondary_depth > 0.03 and period > 1.5")
    assert len(ebs) >= 5
    eccentric = 0
    for signal in ebs.itertuples():
        lc = good(light_curve(transiting, signal.key))
        phase = ((lc.time - signal.epoch) / signal.period) % 1.0
        width = 0.1 * signal.duration / signal.period
        centers = np.arange(0.5 * width, 1.0, width)
        which = np.floor(phase / width).astype(int)
        flux = relative_flux(lc)
        deficit = np.array([1.0 - np.median(flux[which == k]) if (which == k).any() else 0.0
                            for k in range(len(centers))])
        deficit[(centers < 8 * width) | (centers > 1.0 - 8 * width)] = 0.0  # the primary
        bottom = deficit > 0.5 * deficit.max()
        middle = np.average(centers[bottom], weights=deficit[bottom])
        assert abs(middle - signal.secondary_phase) < 1.5 * width, signal.key
        assert deficit.max() == pytest.approx(signal.secondary_depth, rel=0.25)
        eccentric += abs(signal.secondary_phase - 0.5) > 10 * width
    assert eccentric >= 1


def test_beb_centroids_move_in_eclipse_and_planet_centroids_do_not(transiting):
    significant = {"beb": [], "planet": []}
    for signal, lc, clear in measurable(transiting, "sim_class in ('beb', 'planet') and snr > 20"):
        col, noise = contrast(lc, lc.centroid_col, signal, clear)
        row = contrast(lc, lc.centroid_row, signal, clear)[0]
        depth, depth_noise = contrast(lc, relative_flux(lc), signal, clear)
        shift, expected = math.hypot(col, row), depth * signal.source_offset_px
        noise = math.hypot(noise, depth_noise * signal.source_offset_px)
        assert abs(shift - expected) < 0.2 * expected + 5 * noise, signal.key
        significant[signal.sim_class].append(shift > 5 * noise)
    assert sum(significant["beb"]) >= 5 and len(significant["planet"]) >= 5
    assert not any(significant["planet"])


def test_false_dips_come_with_a_background_rise(mixed):
    dips = list(measurable(mixed, "sim_class == 'false_dip'"))
    assert len(dips) >= 3
    quiet = set(mixed.stars.query("var_kind == ''").key)
    for signal, lc, clear in dips:
        rise = -contrast(lc, lc.background, signal, clear)[0] / np.median(lc.background)
        assert rise > 0.3, signal.key
        if signal.key in quiet:
            depth, noise = contrast(lc, relative_flux(lc), signal, clear)
            assert abs(depth - signal.depth) < 0.1 * signal.depth + 4 * noise, signal.key


def test_variable_stars_vary_by_their_truth_amplitude(mixed):
    rotators = mixed.stars.query("var_kind == 'rotation' and var_amplitude > 0.005")
    assert len(rotators) >= 2
    assert set(mixed.stars.query("sim_class == 'variable'").var_kind) <= {"rotation", "pulsation"}
    for star in rotators.itertuples():
        lc = good(light_curve(mixed, star.key))
        flux = relative_flux(lc)
        bins = np.floor((lc.time - lc.time[0]) * 4.0)  # 6 h
        binned = [np.median(flux[bins == k]) for k in np.unique(bins)]
        assert 0.7 * star.var_amplitude < np.ptp(binned) < 3.0 * star.var_amplitude + 0.005


def test_truth_tables_agree_with_the_light_curves(mixed):
    stars, signals = mixed.stars, mixed.signals
    assert list(stars.columns) == list(STAR_COLUMNS)
    assert list(signals.columns) == list(SIGNAL_COLUMNS)
    assert list(stars.key) == [lc.meta.key for lc in mixed.light_curves]
    assert list(stars.tic) == [SIM_TIC_OFFSET + i for i in range(120)]
    for lc in mixed.light_curves:
        meta = lc.meta
        assert meta.source_file == f"sim:7:{meta.tic - SIM_TIC_OFFSET}" and meta.mission == "TESS"
        assert 0 <= meta.contamination <= 0.1 and 1 <= meta.camera <= 4 and 1 <= meta.ccd <= 4
        assert np.isfinite([meta.tmag, meta.radius, meta.teff, meta.logg, meta.mass]).all()
    counts = signals.groupby("key").size().reindex(stars.key, fill_value=0)
    assert (counts.to_numpy() == stars.n_signals.to_numpy()).all()
    assert (stars.loc[stars.sim_class.isin(["variable", "quiet"]), "n_signals"] == 0).all()
    assert (stars.loc[stars.sim_class.isin(["planet", "eb", "beb", "false_dip"]),
                      "n_signals"] >= 1).all()
    single = signals.kind == "single"
    assert signals.loc[single, "period"].isna().all()
    assert (signals.loc[single, "n_events_in_data"] == 1).all()
    assert (signals.loc[~single, "period"] > 0).all()
    planet = signals.sim_class == "planet"
    assert signals.loc[planet, "rp_rearth"].notna().all()
    assert signals.loc[~planet, "rp_rearth"].isna().all()
    assert ((signals.epoch > mixed.light_curves[0].time[0])
            & (signals.epoch < mixed.light_curves[0].time[-1])).all()
    primary = signals[signals.signal_index == 0].set_index("key")
    assert np.allclose(stars.set_index("key").loc[primary.index, "depth"], primary.depth)
    assert (signals.groupby("key").snr.apply(lambda s: s.is_monotonic_decreasing)).all()


def test_transit_model_matches_full_batman_and_the_duration_helper():
    time = np.arange(0.0, 20.0, 2.0 / 1440.0)
    period, epoch, rp_rs, a_rs, ecc, w = 3.7, 1.3, 0.1, 12.0, 0.3, 40.0
    inc = inclination_deg(a_rs, 0.4, ecc, w)
    flux = transit_model(time, period, epoch, rp_rs, a_rs, inc, 0.4, 0.2, ecc, w)
    params = batman.TransitParams()
    params.t0, params.per, params.rp, params.a, params.inc = epoch, period, rp_rs, a_rs, inc
    params.ecc, params.w, params.u, params.limb_dark = ecc, w, [0.4, 0.2], "quadratic"
    assert np.allclose(flux, batman.TransitModel(params, time).light_curve(params), atol=1e-12)
    in_transit = time[(flux < 1.0) & (np.abs(time - epoch) < 1.0)]
    duration = transit_duration(period, a_rs, 0.4, rp_rs, ecc, w)
    assert in_transit[-1] - in_transit[0] == pytest.approx(duration, abs=3.0 / 1440.0)
    central = transit_model(np.array([epoch]), period, epoch, rp_rs, a_rs, 90.0, 0.0, 0.0)
    assert central[0] == pytest.approx(1.0 - rp_rs ** 2)


def test_config_rejects_unknown_settings():
    with pytest.raises(ValueError, match="'n_star'"):
        SimConfig.from_dict({"n_star": 10})
    with pytest.raises(ValueError, match="'giant'"):
        SimConfig.from_dict({"class_fractions": {"giant": 0.1}})
    with pytest.raises(ValueError, match="sum to 1"):
        SimConfig.from_dict({"class_fractions": {"planet": 0.8, "eb": 0.3}})
    config = SimConfig.from_dict({"n_stars": 3, "tmag_range": [9, 10]})
    assert config.tmag_range == (9, 10) and config.n_stars == 3
    with pytest.raises(ValueError, match="star range"):
        simulate_stars(config, 2, 5)


def test_shifted_priors_make_small_stars_deep_and_grazing_planets():
    sim = SimConfig(n_stars=200, seed=7, class_fractions={"planet": 1.0},
                    star_mass_range=(0.1, 3.0), grazing_fraction=0.5,
                    planet_period_range=(0.2, 40.0), noise_scale=1.5, systematics_scale=2.0)
    batch = simulate_stars(sim)
    stars, signals = batch.stars, batch.signals
    assert stars["radius"].min() < 0.2 and stars["radius"].max() > 2.0
    assert signals["depth"].max() > 0.15  # giant planets around M dwarfs
    small = signals.merge(stars[["tic", "radius"]], on="tic")
    ratio = small["rp_rearth"] / (small["radius"] * 109.076)
    assert (ratio <= 0.55 + 1e-9).all()
    grazing = signals["impact"] > 0.9
    assert 0.3 < grazing.mean() < 0.7 and (signals["impact"] < 1 + ratio).all()
    assert signals["period"].min() < 0.5
    assert not np.isnan(np.concatenate([lc.flux for lc in batch.light_curves])).any()

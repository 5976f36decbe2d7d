"""Injections: signals carried over from donors, model transits of the drawn depth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.builders import flat_lightcurve
from transitflow.features import featurize_table, lightcurve_features
from transitflow.inject import (MIN_DILUTED_DEPTH, TRANSIT_COLUMNS, TransitPrior,
                                binary_periods, concat_rows, diluted, draw_transit,
                                inject_eclipses, inject_signals, inject_transits,
                                lightcurve_rows, rows_table, slice_rows, transit_depth,
                                transit_flux)
from transitflow.lightcurve import DEFAULT_QUALITY_BITMASK, MOMENTUM_DUMP_BIT
from transitflow.simulate import semi_major_axis_rsun

BITMASK = DEFAULT_QUALITY_BITMASK


def box_dips(lc, period: float, depth: float, duration: float = 0.2, first: float = 0.5):
    """``lc`` with box dips of ``depth`` every ``period`` days from ``first`` days in."""
    dip = (lc.time - lc.time[0] - first) % period < duration
    return replace(lc, flux=(lc.flux * np.where(dip, 1 - depth, 1.0)).astype(np.float32))


def test_rows_round_trip_to_the_same_features():
    lcs = [flat_lightcurve(tic=1, seed=1), box_dips(flat_lightcurve(tic=2, seed=2), 3.0, 0.01)]
    rows = lightcurve_rows(lcs)
    table = rows_table(concat_rows([slice_rows(rows, 0, 1), slice_rows(rows, 1)]))
    x = featurize_table(table).x
    for got, lc in zip(x, lcs):
        np.testing.assert_array_equal(got, lightcurve_features(lc))


def test_signal_injection_multiplies_the_donor_relative_flux():
    host = flat_lightcurve(tic=1, noise=1e-4, seed=1)
    host = replace(host, flux=(host.flux * 500.0).astype(np.float32),
                   centroid_col=np.full(len(host), 100.0, np.float32))
    donor = box_dips(flat_lightcurve(tic=2, noise=0.0, seed=2, span=20.0), 4.0, 0.02)
    shift = np.where(np.arange(len(donor)) % 200 < 5, 0.3, 0.0)  # centroid moves now and then
    donor = replace(donor, flux=(donor.flux * 80.0).astype(np.float32),
                    centroid_col=(7.0 + shift).astype(np.float32),
                    quality=np.where(np.arange(len(donor)) == 50, MOMENTUM_DUMP_BIT, 0)
                    .astype(np.int32))
    donor = replace(donor, flux=np.where(donor.quality > 0, 1e6, donor.flux).astype(np.float32))
    hosts = lightcurve_rows([host])
    out = inject_signals(hosts, lightcurve_rows([donor]), BITMASK)
    ratio = out["flux"][0] / host.flux
    elapsed = host.time - host.time[0]
    in_dip = (elapsed % 20.0 - 0.5) % 4.0 < 0.2 - 1e-9  # the donor's span wraps at 20 days
    np.testing.assert_allclose(ratio[in_dip], 0.98, rtol=1e-5)
    np.testing.assert_allclose(ratio[~in_dip & (elapsed % 20.0 < 19.9)], 1.0, rtol=1e-5)
    assert out["centroid_col"][0].max() == pytest.approx(100.3, abs=1e-4)
    np.testing.assert_array_equal(hosts["flux"][0], host.flux)  # the host is not modified
    for name in ("time", "quality", "background"):
        np.testing.assert_array_equal(out[name][0], getattr(host, name))


@pytest.mark.parametrize("seed", range(4))
def test_injected_transit_has_the_drawn_depth_at_the_drawn_times(seed):
    host = flat_lightcurve(noise=2e-4, seed=seed)
    host = replace(host, flux=(host.flux * 1000.0).astype(np.float32))
    prior = TransitPrior(period_range=(1.0, 5.0), rp_rs_range=(0.05, 0.15), grazing_fraction=0.0)
    out, drawn = inject_transits(lightcurve_rows([host]), np.random.default_rng(seed), BITMASK,
                                 prior)
    params = {name: float(values[0]) for name, values in drawn.items()}
    assert set(drawn) == set(TRANSIT_COLUMNS)
    ratio = out["flux"][0] / host.flux
    at_epoch = np.flatnonzero(host.time == params["epoch"])
    assert len(at_epoch) == 1 and ratio[at_epoch[0]] == pytest.approx(1 - params["depth"], 1e-5)
    assert params["rp_rs"] ** 2 * 0.5 < params["depth"] < params["rp_rs"] ** 2 * 1.5
    phase = (host.time - params["epoch"] + 0.5 * params["period"]) % params["period"] \
        - 0.5 * params["period"]
    in_transit = np.abs(phase) < 0.5 * params["duration"]
    np.testing.assert_array_equal(ratio[np.abs(phase) > 0.5 * params["duration"] + 0.03], 1.0)
    assert ratio[in_transit].max() < 1.0
    events = np.unique(np.round((host.time[in_transit] - params["epoch"]) / params["period"]))
    assert params["n_transits"] == len(events) >= 27.0 / params["period"] - 1
    # the features see it: the deepest bin of the flux channel averages in-transit cadences
    x = featurize_table(rows_table(out)).x[0]
    first = np.argmin(x[0]) * len(host) // x.shape[1]
    assert in_transit[first:first + 2].any()


def test_injected_binaries_eclipse_deeply_at_most_twice_at_30_to_60_days_reproducibly():
    hosts = [flat_lightcurve(tic=tic, seed=tic, noise=1e-5) for tic in range(12)]
    rows = lightcurve_rows(hosts)
    out, ephemerides = inject_eclipses(rows, np.random.default_rng(3), BITMASK, (30.0, 60.0))
    again, _ = inject_eclipses(rows, np.random.default_rng(3), BITMASK, (30.0, 60.0))
    for host, flux, same in zip(hosts, out["flux"], again["flux"]):
        np.testing.assert_array_equal(flux, same)
        ratio = flux / host.flux
        primary = 1.0 - ratio.min()
        assert primary > 0.02  # a binary, not a planet: R2/R1 >= 0.25, b <= 0.9
        dips = ratio < 1.0 - 0.2 * primary
        starts = np.flatnonzero(dips[1:] & ~dips[:-1])
        assert len(starts) + dips[0] <= 2  # 30-60 d: at most one primary and one secondary
    for (period, epoch, duration), flux, host in zip(ephemerides, out["flux"], hosts):
        assert 30.0 <= period <= 60.0 and 0.0 < duration < 1.0
        assert np.interp(epoch, host.time, flux / host.flux) == (flux / host.flux).min()
    for name in ("time", "quality", "centroid_col", "background"):
        assert all(a is b for a, b in zip(out[name], rows[name]))


def test_diluted_binaries_keep_their_eclipses_shape_at_planet_like_depths():
    depths = []
    for tic in range(12):  # one at a time: the dilution's draws follow each binary's
        host = flat_lightcurve(tic=tic, seed=tic, noise=1e-5)
        rows = lightcurve_rows([host])
        full, thin = (inject_eclipses(rows, np.random.default_rng(tic), BITMASK, (2.0, 5.0),
                                      share)[0]["flux"][0] for share in (0.0, 1.0))
        full, thin = 1.0 - full / host.flux, 1.0 - thin / host.flux
        share = thin.max() / full.max()
        assert MIN_DILUTED_DEPTH * 0.999 <= thin.max() < full.max()  # diluted, no shallower
        np.testing.assert_allclose(thin, share * full, atol=1e-6)  # the same eclipses, scaled
        depths.append(thin.max())
    assert min(depths) < 0.01  # planet-like
    assert np.array_equal(diluted(np.ones(5), np.random.default_rng(0)), np.ones(5))


def test_binaries_around_a_giant_host_do_not_overlap():
    """At 0.5 d, twins around a 5 R_sun star would orbit inside each other (a = 0.8 R*; the
    draw failed on an impact parameter beyond the orbit); the periods are raised to a = 2 R*."""
    low, high = binary_periods((0.5, 1.0), 1.2, 5.0)
    assert semi_major_axis_rsun(2.4, low) / 5.0 == pytest.approx(2.0)
    assert high == low > 1.0 and binary_periods((0.5, 50.0), 1.0, 1.0) == (0.5, 50.0)
    host = replace(flat_lightcurve(noise=1e-4), meta=replace(flat_lightcurve().meta,
                                                             mass=1.2, radius=5.0))
    rows = lightcurve_rows([host] * 5)
    out, _ = inject_eclipses(rows, np.random.default_rng(0), BITMASK, (0.5, 1.0))
    assert all(np.isfinite(flux).all() and (flux / host.flux).min() < 0.98
               for flux in out["flux"])


def test_drawn_parameters_follow_the_prior():
    host = flat_lightcurve(noise=1e-3)
    prior = TransitPrior(period_range=(2.0, 8.0), rp_rs_range=(0.01, 0.2), max_impact=0.5,
                         grazing_fraction=0.0, min_snr=10.0)
    rng = np.random.default_rng(0)
    draws = [draw_transit(host.time, host.flux, rng, prior, 1.0, 1.0) for _ in range(200)]
    for name, (low, high) in (("period", (2.0, 8.0)), ("rp_rs", (0.01, 0.2)),
                              ("impact", (0.0, 0.5))):
        values = np.array([draw[name] for draw in draws])
        assert low <= values.min() and values.max() <= high
    u1, u2 = (np.array([draw[name] for draw in draws]) for name in ("u1", "u2"))
    assert (u1 >= 0).all() and (u1 + u2 <= 1 + 1e-12).all() and (u1 + 2 * u2 >= 0).all()
    # radii are drawn above the one reaching min_snr (rp_rs^2 depth, white noise)
    assert min(draw["snr"] for draw in draws) > 0.5 * prior.min_snr
    again = draw_transit(host.time, host.flux, np.random.default_rng(0), prior, 1.0, 1.0)
    assert again == draws[0]


def test_grazing_transits_sit_on_the_limb_and_are_v_shaped():
    host = flat_lightcurve(noise=1e-4)
    prior = TransitPrior(period_range=(2.0, 8.0), rp_rs_range=(0.1, 0.3), grazing_fraction=1.0)
    rng = np.random.default_rng(5)
    for _ in range(20):
        params = draw_transit(host.time, host.flux, rng, prior)
        assert 0.9 <= params["impact"] <= 1.0 + 0.8 * params["rp_rs"]
        depth = transit_depth(params, exposure_min=2.0)
        assert 0 < depth < params["rp_rs"] ** 2  # part of the planet is off the star
        at_epoch = transit_flux(host.time, params)[host.time == params["epoch"]]
        assert params["depth"] == pytest.approx(1.0 - at_epoch[0], rel=1e-9)


@pytest.mark.parametrize("options, message", [
    ({"rp_rs_range": [0.2, 0.1]}, "rp_rs_range"),
    ({"grazing_fraction": 1.5}, "grazing_fraction"),
    ({"min_snr": -1}, "min_snr"),
    ({"max_impakt": 0.5}, "unknown option 'max_impakt'"),
])
def test_transit_prior_rejects_bad_settings(options, message):
    with pytest.raises(ValueError, match=message):
        TransitPrior.from_dict(options)

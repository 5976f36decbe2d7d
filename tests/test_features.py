"""The model input: shapes, ranges, masks, NaN handling, one definition for both paths."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.builders import flat_lightcurve, inject_box
from transitflow.features import (FeatureConfig, _running_median, featurize_table,
                                  lightcurve_features, search_ephemerides, shard_features)
from transitflow.lightcurve import DEFAULT_QUALITY_BITMASK, MOMENTUM_DUMP_BIT
from transitflow.shards import open_shard, write_shard


def with_arrays(lc, **arrays):
    """``lc`` with some arrays replaced."""
    return replace(lc, **{name: np.asarray(values, dtype=getattr(lc, name).dtype)
                          for name, values in arrays.items()})


def test_config_from_dict_is_strict():
    cfg = FeatureConfig.from_dict({"length": 500, "channels": ["flux", "background"]})
    assert cfg == FeatureConfig(length=500, channels=("flux", "background"))
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="lenght"):
        FeatureConfig.from_dict({"lenght": 500})


@pytest.mark.parametrize("options", [{"normalization": "minmax"}, {"channels": ("flux", "pdc")},
                                     {"channels": ()}, {"resize": "crop"}, {"length": 0},
                                     {"local_length": -1}, {"local_window": 0.0}])
def test_config_rejects_bad_values(options):
    with pytest.raises(ValueError):
        FeatureConfig(**options)


def test_shape_dtype_and_range():
    x = lightcurve_features(flat_lightcurve(noise=1e-3, seed=1))
    assert x.shape == (3, 1000) and x.dtype == np.float32
    assert x[0].min() == -1.0 and x[0].max() == 1.0
    np.testing.assert_array_equal(x[1:], 0.0)  # constant centroid and background


def test_modified_zscore_is_centred_and_unbounded():
    lc = flat_lightcurve(noise=1e-3, seed=2)
    lc = with_arrays(lc, flux=np.where(np.arange(len(lc)) == 100, 1.1, lc.flux))
    x = lightcurve_features(lc, FeatureConfig(normalization="modified_zscore"))
    assert abs(np.median(x[0])) < 0.05
    assert x[0].max() > 50


def test_flagged_and_nan_flux_cadences_are_dropped():
    lc = flat_lightcurve(seed=3)
    bad = np.zeros(len(lc), bool)
    bad[50:60] = bad[700:705] = True
    quality = np.where(bad, MOMENTUM_DUMP_BIT, 0)
    flux = np.where(bad, 5.0, lc.flux)
    flux[300] = np.nan
    messy = with_arrays(lc, flux=flux, quality=quality)
    clean = lc.select(~bad & (np.arange(len(lc)) != 300))
    np.testing.assert_array_equal(lightcurve_features(messy), lightcurve_features(clean))


def test_unflagged_bits_are_kept():
    lc = flat_lightcurve(seed=4)
    kept_bit = 512
    assert not DEFAULT_QUALITY_BITMASK & kept_bit
    flagged = with_arrays(lc, quality=np.full(len(lc), kept_bit))
    np.testing.assert_array_equal(lightcurve_features(flagged), lightcurve_features(lc))


def test_nan_centroid_and_background_are_filled():
    lc = flat_lightcurve(seed=5)
    n = len(lc)
    background = np.linspace(10.0, 20.0, n)
    background[::7] = np.nan
    lc = with_arrays(lc, centroid_col=np.full(n, np.nan), background=background)
    x = lightcurve_features(lc)
    assert np.isfinite(x).all()
    np.testing.assert_array_equal(x[1], 0.0)
    assert x[2].min() == -1.0 and x[2].max() == 1.0


def test_centroid_channel_is_offset_from_median():
    lc = flat_lightcurve(seed=6)
    n = len(lc)
    col = np.where((np.arange(n) >= 400) & (np.arange(n) < 500), 0.3, 0.0)
    row = np.where((np.arange(n) >= 400) & (np.arange(n) < 500), -0.4, 0.0)
    x = lightcurve_features(with_arrays(lc, centroid_col=col, centroid_row=row),
                            FeatureConfig(length=n, channels=("centroid",)))
    np.testing.assert_array_equal(x[0], np.where(col != 0, 1.0, -1.0))


def test_long_curves_are_binned_or_truncated():
    lc = flat_lightcurve(span=1000 * 30 / 1440 - 1e-6)
    assert len(lc) == 1000
    lc = with_arrays(lc, flux=np.where(np.arange(1000) == 751, -10.0, 0.0))
    cfg = FeatureConfig(length=500, channels=("flux",))
    binned = lightcurve_features(lc, cfg)[0]
    np.testing.assert_array_equal(binned, np.where(np.arange(500) == 375, -1.0, 1.0))
    truncated = lightcurve_features(lc, replace(cfg, resize="truncate"))[0]
    np.testing.assert_array_equal(truncated, 0.0)  # the dip is past the first 500 cadences


@pytest.mark.parametrize("length", [1000, 648, 600, 97])  # 1296 cadences: 1-2, 2, 2-3, 13-14 a bin
def test_bins_are_exact_equal_count_means(length):
    lc = flat_lightcurve(noise=1e-3, seed=14)
    flux = lc.flux
    starts = (np.arange(length) * len(flux)) // length
    means = (np.add.reduceat(flux, starts) / np.diff(starts, append=len(flux))).astype(np.float32)
    low, high = means.min(), means.max()
    expected = 2.0 * (means - low) / (high - low) - 1.0
    x = lightcurve_features(lc, FeatureConfig(length=length, channels=("flux",)))
    np.testing.assert_array_equal(x[0], expected)


def test_short_curves_are_stretched_in_order_never_repeating_an_event():
    lc = flat_lightcurve(span=400 * 30 / 1440 - 1e-6, seed=7)
    assert len(lc) == 400
    x = lightcurve_features(lc)
    reference = lightcurve_features(lc, FeatureConfig(length=400))
    np.testing.assert_array_equal(x[:, 0::5], reference[:, 0::2])  # 2.5 samples per cadence
    np.testing.assert_array_equal(x[:, 1::5], reference[:, 0::2])
    np.testing.assert_array_equal(x[:, 3::5], reference[:, 1::2])
    dip = with_arrays(lc, flux=np.where(np.arange(400) == 390, 0.9, lc.flux))
    deepest = lightcurve_features(dip)[0]
    assert np.flatnonzero(deepest == deepest.min()).tolist() == [975, 976, 977]


def test_too_few_good_cadences_raise():
    lc = flat_lightcurve(span=50 * 30 / 1440 - 1e-6)
    with pytest.raises(ValueError, match="50 good cadences, fewer than 100"):
        lightcurve_features(lc)


def test_shard_path_equals_per_lightcurve_path(tmp_path):
    base = flat_lightcurve(tic=1, seed=8)
    nan_centroid = with_arrays(flat_lightcurve(tic=2, seed=9),
                               centroid_row=np.full(len(base), np.nan))
    flagged = with_arrays(flat_lightcurve(tic=3, seed=10),
                          quality=np.where(np.arange(len(base)) % 5 == 0, 1, 0))
    short = flat_lightcurve(tic=4, span=10.0, seed=11)
    failed = flat_lightcurve(tic=5, span=1.0, seed=12)
    two_min = flat_lightcurve(tic=6, cadence_min=2.0, span=6.0, seed=13)
    lcs = [base, nan_centroid, flagged, failed, short, two_min]
    path = write_shard(tmp_path / "s.arrow", lcs, provenance={})
    for cfg in (FeatureConfig(), FeatureConfig(normalization="modified_zscore", resize="truncate")):
        keys, x = shard_features(path, cfg)
        assert keys == [lc.meta.key for lc in lcs if lc is not failed]
        assert x.shape == (5, 3, 1000) and x.dtype == np.float32
        for key, row in zip(keys, x):
            lc = next(lc for lc in lcs if lc.meta.key == key)
            np.testing.assert_array_equal(row, lightcurve_features(lc, cfg))
    features = featurize_table(open_shard(path))
    assert features.ok.tolist() == [True, True, True, False, True, True]
    assert features.reasons[3] == "48 good cadences, fewer than 100"


def test_chunked_and_sliced_tables(tmp_path):
    lcs = [flat_lightcurve(tic=tic, seed=tic, span=span) for tic, span in
           [(1, 27.0), (2, 10.0), (3, 1.0), (4, 27.0)]]
    table = open_shard(write_shard(tmp_path / "s.arrow", lcs, provenance={}))
    whole = featurize_table(table)
    parts = featurize_table(pa.concat_tables([table.slice(0, 1), table.slice(1)]))
    assert parts.keys == whole.keys and parts.reasons == whole.reasons
    np.testing.assert_array_equal(parts.x, whole.x)
    tail = featurize_table(table.slice(2))
    assert tail.keys == whole.keys[2:] and tail.ok.tolist() == [False, True]
    np.testing.assert_array_equal(tail.x, whole.x[-1:])


def test_empty_shard(tmp_path):
    keys, x = shard_features(write_shard(tmp_path / "empty.arrow", [], provenance={}))
    assert keys == [] and x.shape == (0, 3, 1000)


def test_flat_channel_divides_out_trends_and_keeps_transits():
    lc = flat_lightcurve(noise=1e-3, seed=3)
    elapsed = lc.time - lc.time[0]
    dip = (elapsed % 5.0 > 2.0) & (elapsed % 5.0 < 2.125)  # 3-hour transits every 5 days
    trend = 1.0 + 0.05 * np.sin(elapsed / 3.0)  # stellar variability 10x deeper than the dip
    lc = with_arrays(lc, flux=(lc.flux * trend * np.where(dip, 0.995, 1.0)).astype(np.float32))
    flux, flat = lightcurve_features(lc, FeatureConfig(length=len(lc), channels=("flux", "flat")))

    def dip_significance(x):
        rest = x[~dip]
        scatter = 1.4826 * np.median(np.abs(rest - np.median(rest)))
        return (np.median(rest) - x[dip].mean()) / scatter

    assert dip_significance(flat) > 3.0  # 5 sigma per cadence, less the edges of the window
    assert dip_significance(flux) < 1.0  # in the raw flux the trend hides the transits
    with pytest.raises(ValueError, match="flat_window"):
        FeatureConfig(flat_window=50)


def test_the_running_median_is_each_windows_median_reflected_at_the_finite_samples_ends():
    rng = np.random.default_rng(8)
    values = rng.normal(1.0, 0.01, (3, 40)).astype(np.float32)
    values[1, 30:] = np.nan  # a short row: its samples past the end are NaN
    values[2] = np.nan
    got = _running_median(values, 5)
    row = values[1, :30]
    reflected = np.concatenate([row[2:0:-1], row, row[-2:-4:-1]])
    expected = [np.median(reflected[k:k + 5]) for k in range(30)]
    np.testing.assert_array_equal(got[1, :30], np.asarray(expected, np.float32))
    assert got.dtype == np.float32 and np.isnan(got[2]).all()
    np.testing.assert_array_equal(got[0, 2:-2], np.median(
        np.lib.stride_tricks.sliding_window_view(values[0], 5), axis=1).astype(np.float32))


def test_robust_clip_keeps_noise_and_saturates_a_deep_event():
    lc = flat_lightcurve(noise=1e-3, seed=4)
    lc = with_arrays(lc, flux=np.where(np.arange(len(lc)) == 300, 0.5, lc.flux))  # 500 sigma
    cfg = FeatureConfig(length=len(lc), channels=("flux",))
    clipped = lightcurve_features(lc, replace(cfg, normalization="robust_clip"))[0]
    plain = lightcurve_features(lc, replace(cfg, normalization="modified_zscore"))[0]
    assert -10.0 <= clipped[300] < -9.9 and plain[300] < -400.0
    quiet = np.abs(plain) < 3.0
    np.testing.assert_allclose(clipped[quiet], plain[quiet], atol=0.1)


LOCAL = FeatureConfig(local_length=50)


def test_a_local_view_centres_the_transit_folded_at_its_ephemeris():
    lc = inject_box(flat_lightcurve(noise=1e-3, seed=4), 3.3, 1326.0, 0.15, snr=30)
    x = lightcurve_features(lc, LOCAL, (3.3, 1326.0 + 3 * 3.3, 0.15))
    assert x.shape == (3, 1050)
    np.testing.assert_array_equal(x[:, :1000], lightcurve_features(lc))  # the global view
    local = x[0, 1000:]  # 5 durations in 50 bins: the transit fills the middle 10
    assert local[20:30].max() < local[:18].min() and local[20:30].max() < local[32:].min()
    np.testing.assert_array_equal(x[1:, 1000:], 0.0)  # constant centroid and background
    off = lightcurve_features(lc, LOCAL, (3.3, 1326.0 + 1.0, 0.15))[0, 1000:]
    assert off[20:30].mean() > -0.5 > local[20:30].mean()  # elsewhere: noise


def test_a_single_event_is_the_window_about_its_epoch_and_no_ephemeris_is_zeros():
    lc = inject_box(flat_lightcurve(noise=1e-3, seed=5), np.nan, 1340.0, 0.3, snr=30)
    local = lightcurve_features(lc, LOCAL, (np.inf, 1340.0, 0.3))[0, 1000:]
    assert np.argmin(local) in range(20, 30) and local[20:30].max() < local[:18].min()
    for none in (None, (np.nan, np.nan, np.nan)):
        x = lightcurve_features(lc, LOCAL, none)
        np.testing.assert_array_equal(x[:, 1000:], 0.0)


def test_sparse_local_views_fill_their_empty_bins_from_neighbours():
    """A 30-minute light curve and a half-hour transit: 5 cadences a transit over 50 bins."""
    lc = inject_box(flat_lightcurve(noise=1e-3, seed=6), 6.1, 1327.0, 0.02, snr=30)
    local = lightcurve_features(lc, LOCAL, (6.1, 1327.0, 0.02))[0, 1000:]
    assert np.isfinite(local).all() and local.min() == -1.0 and local.max() == 1.0
    assert np.count_nonzero(np.diff(local)) < 49  # runs of repeated values


def test_the_centroid_local_view_shows_an_in_transit_shift():
    lc = inject_box(flat_lightcurve(noise=1e-3, seed=7), 2.5, 1325.5, 0.2, snr=30)
    inside = np.abs(((lc.time - 1325.5 + 1.25) % 2.5) - 1.25) < 0.1
    lc = with_arrays(lc, centroid_col=np.where(inside, 0.05, 0.0))
    local = lightcurve_features(lc, LOCAL, (2.5, 1325.5, 0.2))[1, 1000:]
    assert local[21:29].min() > local[:19].max() and local[31:].max() < local[21:29].min()


def test_search_ephemerides_pick_the_stronger_signal_of_each_light_curve():
    detections = pd.DataFrame({
        "key": ["a", "b", "c", "a"], "copy": ["data", "data", "data", "inverted"],
        "status": ["ok", "ok", "failed", "ok"], "period": [2.0, 5.0, np.nan, 9.0],
        "epoch": [1.0, 2.0, np.nan, 9.0], "duration": [0.1, 0.2, np.nan, 9.0],
        "snr": [12.0, 8.0, np.nan, 99.0], "single_epoch": [3.0, 4.0, np.nan, 9.0],
        "single_duration": [0.3, 0.4, np.nan, 9.0], "single_snr": [9.0, 10.0, np.nan, 99.0]})
    np.testing.assert_array_equal(search_ephemerides(detections, ["b", "x", "a", "c"]), [
        [np.inf, 4.0, 0.4], [np.nan] * 3, [2.0, 1.0, 0.1], [np.nan] * 3])


def test_local_views_of_a_shard_take_each_rows_ephemeris(tmp_path):
    lcs = [inject_box(flat_lightcurve(tic=tic, noise=1e-3, seed=tic), 2.0 + tic, 1326.0 + tic,
                      0.15, snr=40) for tic in range(1, 4)]
    ephemerides = np.array([[2.0 + tic, 1326.0 + tic, 0.15] for tic in range(1, 4)])
    table = open_shard(write_shard(tmp_path / "s.arrow", lcs, provenance={}))
    x = featurize_table(table, LOCAL, ephemerides).x
    for lc, features, ephemeris in zip(lcs, x, ephemerides):
        np.testing.assert_array_equal(features, lightcurve_features(lc, LOCAL, ephemeris))
    with pytest.raises(ValueError, match=r"shape \(2, 3\), not \(3, 3\)"):
        featurize_table(table, LOCAL, ephemerides[:2])

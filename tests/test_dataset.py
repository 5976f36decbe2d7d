"""Training data: the feature cache, splits, augmentation and the batch stream."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from tests.builders import flat_lightcurve
from tests.test_inject import box_dips
from transitflow.dataset import (AUGMENTATIONS, EMULATED_DURATION_ERROR, EMULATED_DURATION_RATIO,
                                 EMULATED_EPOCH_ERROR, TrainingStream, augment, drop_channels,
                                 emulated_ephemerides, feature_caches, load_splits, ok_path)
from transitflow.features import FeatureConfig, lightcurve_features, shard_features
from transitflow.inject import TransitPrior
from transitflow.provenance import file_digest
from transitflow.shards import read_shard, write_shard
from transitflow.signals import TRAINING_LABELS

FEATURES = FeatureConfig(length=200)
SPLIT_OF = np.array(["train"] * 4 + ["val", "test"])


def example(index: int):
    """Light curve ``index``: a planet, an EB or a non-transit star, in turn."""
    lc = flat_lightcurve(tic=index + 1, seed=index, span=10.0)
    label = TRAINING_LABELS[index % 3]
    if label == "planet":
        lc = box_dips(lc, 2.0 + index % 3, 0.005)
    elif label == "eb":
        lc = box_dips(box_dips(lc, 3.0, 0.1), 3.0, 0.03, first=2.0)
    return lc, label


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    """Two shards of 36 light curves (the last one too short), labels, a split, caches."""
    root = tmp_path_factory.mktemp("task")
    lcs, labels = zip(*(example(index) for index in range(36)))
    lcs = list(lcs)
    lcs[-1] = lcs[-1].select(np.arange(len(lcs[-1])) < 50)
    shards = [write_shard(root / "a.arrow", lcs[:20], {}),
              write_shard(root / "b.arrow", lcs[20:], {})]
    labels = pd.DataFrame({"key": [lc.meta.key for lc in lcs], "tic": [lc.meta.tic for lc in lcs],
                           "label": labels})
    split = pd.DataFrame({"tic": labels["tic"], "split": SPLIT_OF[np.arange(36) // 3 % 6]})
    caches = feature_caches(shards, [file_digest(path) for path in shards], FEATURES,
                            root / "cache")
    return shards, caches, labels, split


@pytest.fixture(scope="module")
def splits(task):
    shards, caches, labels, split = task
    return load_splits(shards, caches, labels, split)


def stream(splits, **options) -> TrainingStream:
    return TrainingStream(splits["train"], FEATURES, batch_size=30, seed=5, **options)


def test_cache_holds_the_features_and_is_reused(task, tmp_path):
    shards, caches, _, _ = task
    for shard, cache in zip(shards, caches):
        keys, x = shard_features(shard, FEATURES)
        ok = np.load(ok_path(cache))
        np.testing.assert_array_equal(np.load(cache)[ok], x)
        assert ok.sum() == len(keys)
    assert not np.load(ok_path(caches[1]))[-1]  # too few cadences
    digests = [file_digest(path) for path in shards]
    written = [cache.stat().st_mtime_ns for cache in caches]
    assert feature_caches(shards, digests, FEATURES, caches[0].parent) == caches
    assert [cache.stat().st_mtime_ns for cache in caches] == written
    other = feature_caches(shards, digests, replace(FEATURES, length=100), tmp_path, build=False)
    assert not set(other) & set(caches) and not any(path.exists() for path in other)


def test_building_caches_deletes_those_of_other_settings(task, tmp_path):
    shards = task[0]
    digests = [file_digest(path) for path in shards]
    first = feature_caches(shards, digests, FEATURES, tmp_path)
    second = feature_caches(shards, digests, replace(FEATURES, length=100), tmp_path)
    assert sorted(tmp_path.glob("*.npy")) == sorted([*second, *map(ok_path, second)])
    assert not any(path.exists() for path in first)


def test_splits_read_features_unaugmented(task, splits):
    shards, caches, labels, split = task
    assert {name: len(part.keys) for name, part in splits.items()} == \
        {"train": 24, "val": 6, "test": 5}
    val = splits["val"]
    lcs = {lc.meta.key: lc for lc, _ in (example(index) for index in range(36))}
    for key, x in zip(val.keys, val.x[:]):
        np.testing.assert_array_equal(x, lightcurve_features(lcs[key], FEATURES))
    np.testing.assert_array_equal(val.y, (val.label == "planet").astype(np.float32))
    with pytest.raises(ValueError, match="planet_candidate"):
        load_splits(shards, caches, labels.assign(label="planet_candidate"), split)


def test_augment_shapes_and_names():
    x = np.random.default_rng(0).standard_normal((400, 3, 50)).astype(np.float32)
    original = x.copy()
    out, names = augment(x, np.random.default_rng(1), {"noise": 0.5, "mirror": 0.25}, 0.1)
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_array_equal(x, original)
    counts = {name: np.mean(names == name) for name in ("noise", "mirror", "")}
    assert abs(counts["noise"] - 0.5) < 0.1 and abs(counts["mirror"] - 0.25) < 0.1
    assert abs(counts[""] - 0.25) < 0.1 and set(names) <= {"noise", "mirror", ""}
    np.testing.assert_array_equal(out[names == ""], x[names == ""])
    none, names = augment(x, np.random.default_rng(1), {}, 0.1)
    assert (names == "").all() and np.array_equal(none, x)


def circular_shift(original: np.ndarray, moved: np.ndarray) -> int | None:
    """The shift ``s`` with ``moved == roll(original, s)`` on every channel, or None."""
    for shift in range(original.shape[-1]):
        if np.array_equal(np.roll(original, shift, axis=-1), moved):
            return shift
    return None


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_each_augmentation(name):
    length = 60
    x = np.random.default_rng(2).standard_normal((40, 3, length)).astype(np.float32)
    out, names = augment(x, np.random.default_rng(3), {name: 1.0}, 0.2)
    assert (names == name).all()
    if name == "noise":
        residual = out - x
        assert 0 < residual.std() < 0.2 and abs(residual.mean()) < 0.01
        assert np.abs(residual).max() < 0.2 * 6
        return
    if name == "mirror":
        np.testing.assert_array_equal(out, x[:, :, ::-1])
        return
    shifts = np.array([circular_shift(a, b) for a, b in zip(x, out)])
    signed = (shifts + length // 2) % length - length // 2
    assert all(shift is not None for shift in shifts)
    if name == "roll":
        assert np.abs(signed).max() <= length // 10 and len(set(signed)) > 3
    else:
        assert np.abs(signed).max() > length // 10


def test_drop_channels_zeroes_optional_channels_as_a_missing_column_reads():
    channels = ("flat", "centroid", "background")
    x = np.random.default_rng(4).standard_normal((600, 3, 40)).astype(np.float32)
    out = drop_channels(x.copy(), np.random.default_rng(5), 0.5, channels)
    np.testing.assert_array_equal(out[:, 0], x[:, 0])  # the flux is never dropped
    zeroed = (out[:, 1:] == 0).all(axis=2)
    kept = (out[:, 1:] == x[:, 1:]).all(axis=2)
    assert (zeroed | kept).all()
    patterns = {tuple(row): np.mean((zeroed == row).all(axis=1)) for row in
                ((True, False), (False, True), (True, True), (False, False))}
    assert abs(patterns[(False, False)] - 0.5) < 0.07
    assert all(abs(share - 0.5 / 3) < 0.05 for row, share in patterns.items() if any(row))
    # featurised, a light curve without centroid and background columns has zero channels
    lc = flat_lightcurve(tic=1, seed=1)
    nan = np.full(len(lc), np.nan, np.float32)
    bare = lightcurve_features(replace(lc, centroid_col=nan, centroid_row=nan, background=nan),
                               FeatureConfig(length=200))
    assert (bare[1:] == 0).all()
    rng = np.random.default_rng(6)
    assert drop_channels(x, rng, 0.0, channels) is x and drop_channels(x, rng, 1.0, ("flux",)) is x
    assert rng.random() == np.random.default_rng(6).random()  # nothing drawn


def test_batches_are_balanced_reproducible_and_per_rank(splits):
    plain = stream(splits)
    batch = plain.batch(7)
    assert batch.x.shape == (30, 3, 200) and batch.x.dtype == np.float32
    assert [np.sum(batch.label == name) for name in TRAINING_LABELS] == [10, 10, 10]
    assert (batch.source == "real").all() and (batch.augmentation == "").all()
    train = splits["train"]
    labels = dict(zip(train.keys, train.label))
    assert [labels[key] for key in batch.key] == batch.label.tolist()
    np.testing.assert_array_equal(batch.y, (batch.label == "planet").astype(np.float32))
    rows = {key: index for index, key in enumerate(train.keys)}
    np.testing.assert_array_equal(batch.x, train.x[np.array([rows[key] for key in batch.key])])
    np.testing.assert_array_equal(plain.batch(7).x, batch.x)
    assert not np.array_equal(plain.batch(8).key, batch.key)
    other_rank = TrainingStream(train, FEATURES, batch_size=30, seed=5, rank=1)
    assert not np.array_equal(other_rank.batch(7).key, batch.key)


def test_workers_share_out_the_stream_in_order(splits):
    source = stream(splits, injection_fraction=0.3, physical_injection_fraction=0.3,
                    augmentation={"noise": 0.5}, start=4)
    loader = torch.utils.data.DataLoader(source, batch_size=None, num_workers=2)
    got = [x for _, (x, _) in zip(range(4), loader)]
    for index, x in enumerate(got):
        np.testing.assert_array_equal(x.numpy(), source.batch(4 + index).x)


def test_stream_drops_optional_channels_after_the_augmentations(splits):
    options = {"augmentation": {"noise": 0.5, "roll": 0.5}}
    full = stream(splits, **options).batch(3).x
    dropped = stream(splits, missing_channels=0.5, **options).batch(3).x
    np.testing.assert_array_equal(dropped[:, 0], full[:, 0])  # same samples, flux untouched
    zeroed = (dropped[:, 1:] == 0).all(axis=2)
    assert ((dropped[:, 1:] == full[:, 1:]).all(axis=2) | zeroed).all()
    assert 0 < zeroed.any(axis=1).mean() < 1


def test_injections_are_drawn_by_fraction_from_the_train_split(splits, task):
    _, _, labels, split = task
    train_keys = set(labels["key"][labels["tic"].isin(split["tic"][split["split"] == "train"])])
    label_of = dict(zip(labels["key"], labels["label"]))
    source = stream(splits, injection_fraction=0.5, physical_injection_fraction=0.5,
                    augmentation={name: 0.25 for name in AUGMENTATIONS})
    batches = [source.batch(index) for index in range(6)]
    for batch in batches:
        assert set(batch.key) | set(batch.donor) - {""} <= train_keys
        injected = batch.source != "real"
        assert all(label_of[key] == "non_transit" for key in batch.key[injected])
        signal = batch.source == "signal"
        assert [label_of[key] for key in batch.donor[signal]] == batch.label[signal].tolist()
        assert (batch.source[batch.label == "non_transit"] == "real").all()
        assert (batch.source[batch.label == "eb"] != "transit").all()
        assert (batch.source[batch.label == "planet"] != "real").all()
        np.testing.assert_array_equal(batch.transits["sample"],
                                      np.flatnonzero(batch.source == "transit"))
        assert batch.transits["key"].tolist() == batch.key[batch.source == "transit"].tolist()
        assert np.isfinite(batch.x).all()
    sources = np.concatenate([batch.source[batch.label == "planet"] for batch in batches])
    assert 0.3 < np.mean(sources == "signal") < 0.7
    assert all((batch.augmentation != "").any() for batch in batches)


def test_eclipse_injections_are_eb_samples(splits):
    source = stream(splits, injection_fraction=0.2, eclipse_injection_fraction=0.8)
    batches = [source.batch(index) for index in range(4)]
    for batch in batches:
        eclipse = batch.source == "eclipse"
        assert (batch.label[eclipse] == "eb").all() and (batch.y[eclipse] == 0).all()
        assert np.isfinite(batch.x).all()
    eb_sources = np.concatenate([batch.source[batch.label == "eb"] for batch in batches])
    assert set(eb_sources) <= {"signal", "eclipse"} and np.mean(eb_sources == "eclipse") > 0.5


def test_injections_need_non_transit_light_curves(splits):
    train = splits["train"]
    keep = train.label != "non_transit"
    planets_and_ebs = replace(train, **{name: getattr(train, name)[keep]
                                        for name in ("keys", "label", "shard", "row")})
    with pytest.raises(ValueError, match="non_transit"):
        TrainingStream(planets_and_ebs, FEATURES, 30, 0, injection_fraction=0.1)
    batch = TrainingStream(planets_and_ebs, FEATURES, 30, 0).batch(0)
    assert [np.sum(batch.label == name) for name in TRAINING_LABELS] == [15, 15, 0]


def test_with_a_local_view_rolls_and_swaps_move_the_global_view_alone():
    x = np.random.default_rng(4).standard_normal((30, 3, 70)).astype(np.float32)
    for name in ("roll", "swap"):
        out, _ = augment(x, np.random.default_rng(5), {name: 1.0}, 0.2, length=60)
        np.testing.assert_array_equal(out[..., 60:], x[..., 60:])
        assert all(circular_shift(a, b) is not None for a, b in zip(x[..., :60], out[..., :60]))
    out, _ = augment(x, np.random.default_rng(5), {"mirror": 1.0}, 0.2, length=60)
    np.testing.assert_array_equal(out[..., :60], x[..., 59::-1])
    np.testing.assert_array_equal(out[..., 60:], x[..., :59:-1])


def test_emulated_ephemerides_are_the_signals_where_found_else_the_hosts():
    signals = {"period": np.array([2.0, 3.0, 40.0]), "epoch": np.array([10.0, 11.0, 12.0]),
               "duration": np.array([0.1, 0.2, 0.3]), "snr": np.array([30.0, 5.0, 30.0]),
               "n_transits": np.array([9, 6, 1])}
    hosts = np.array([[7.0, 1.0, 0.5]] * 3)
    ephemerides = emulated_ephemerides(signals, hosts, np.random.default_rng(0))
    np.testing.assert_array_equal(ephemerides[1], hosts[1])  # SNR 5: the search's noise peak
    assert ephemerides[0, 0] == 2.0 and ephemerides[2, 0] == np.inf  # one transit: single


def test_emulated_ephemerides_are_off_as_the_search_places_them():
    count = 4000
    signals = {"period": np.full(count, 3.0), "epoch": np.full(count, 10.0),
               "duration": np.full(count, 0.2), "snr": np.full(count, 30.0),
               "n_transits": np.full(count, 8)}
    ephemerides = emulated_ephemerides(signals, np.zeros((count, 3)), np.random.default_rng(1))
    epoch_error = np.abs(ephemerides[:, 1] - 10.0) / 0.2
    ratio = ephemerides[:, 2] / 0.2
    assert np.median(epoch_error) == pytest.approx(EMULATED_EPOCH_ERROR * np.log(2), rel=0.1)
    assert np.median(ratio) == pytest.approx(EMULATED_DURATION_RATIO, rel=0.05)
    assert np.std(np.log(ratio)) == pytest.approx(EMULATED_DURATION_ERROR, rel=0.1)


def test_local_views_of_injected_samples_are_at_their_emulated_ephemerides(task, tmp_path):
    """The real light curves' views come from the cache, at the search's ephemerides; those
    of injected transits, bright ones, show the transit in the middle."""
    shards, _, labels, split = task
    keys = labels["key"]
    detections = pd.DataFrame({
        "key": keys, "copy": "data", "status": "ok", "period": 3.0, "epoch": 1325.5,
        "duration": 0.2, "snr": 8.0, "single_epoch": np.nan, "single_duration": np.nan,
        "single_snr": np.nan})
    features = replace(FEATURES, local_length=40)
    caches = feature_caches(shards, [file_digest(path) for path in shards], features,
                            tmp_path, detections=detections)
    train = load_splits(shards, caches, labels, split, detections)["train"]
    source = TrainingStream(train, features, 30, 5, physical_injection_fraction=1.0,
                            prior=TransitPrior(min_snr=50.0))
    batch = source.batch(0)
    assert batch.x.shape == (30, 3, 240) and np.isfinite(batch.x).all()
    real = np.flatnonzero(batch.source == "real")
    lcs = {lc.meta.key: lc for lc in read_shard(shards[0]) + read_shard(shards[1])}
    for index in real[:3]:
        np.testing.assert_array_equal(batch.x[index], lightcurve_features(
            lcs[batch.key[index]], features, (3.0, 1325.5, 0.2)))
    bright = batch.transits["snr"] > 20
    local = batch.x[batch.transits["sample"][bright], 0, 200:]
    assert bright.sum() >= 5
    assert (local[:, 16:24].mean(axis=1) < local[:, :8].mean(axis=1)).all()

"""Training data: memory-mapped features, labelled splits and the endless batch stream.

The features (:mod:`transitflow.features`) of every shard are computed once, one shard at a
time, into ``.npy`` cache files that each process memory-maps; the light curves stay in
their memory-mapped shards. Nothing holds the whole data set in memory.

Training draws from :class:`TrainingStream`: batch ``n`` depends only on
``(seed, rank, n)``, so it is the same whichever DataLoader worker makes it, each DDP rank
draws its own batches, and a resumed run picks the stream up at its position. Batches mix
real light curves with injected ones (:mod:`transitflow.inject`) and are augmented;
validation and test light curves are read as they are, never injected into or augmented.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from transitflow.features import (FeatureConfig, featurize_table, search_ephemerides,
                                  table_ephemerides)
from transitflow.inject import (CADENCE_COLUMNS, META_COLUMNS, TRANSIT_COLUMNS, Rows,
                                TransitPrior, concat_rows, good_cadences, inject_eclipses,
                                inject_signals, inject_transits, rows_table, slice_rows)
from transitflow.lightcurve import lightcurve_key
from transitflow.provenance import config_hash, source_digest
from transitflow.shards import open_shard, shard_schema
from transitflow.signals import TRAINING_LABELS
from transitflow.tables import atomic_output

SPLITS = ("train", "val", "test")
POSITIVE = "planet"
#: Augmentations, at most one per training sample (see :func:`augment`).
AUGMENTATIONS = ("noise", "roll", "swap", "mirror")
#: Where a training sample comes from: a light curve as it is, a signal, transit or eclipse
#: injection (:mod:`transitflow.inject`).
SOURCES = ("real", "signal", "transit", "eclipse")
_ROLL_FRACTION = 0.1
#: Channels a light curve may come without (a CSV of time and flux, a product with no
#: background column); :mod:`transitflow.features` makes such a channel all zeros.
OPTIONAL_CHANNELS = ("centroid", "background")
#: Local views of injected samples (:func:`emulated_ephemerides`): the expected SNR from which
#: the search finds the signal (the detect stage's floor); the scale of the Laplace error of
#: its epoch (in durations); the median ratio of its duration to the signal's and the spread of
#: that ratio's log. Measured on the default sector's planets with two or more transits and
#: SNR >= 10 (docs/benchmarks.md): epoch off by 0.14 durations (median), 0.28 (90%); duration
#: ratio 0.54, 0.79, 1.06 (5%, median, 95%).
EMULATED_FOUND_SNR = 7.0
EMULATED_EPOCH_ERROR = 0.2
EMULATED_DURATION_RATIO = 0.8
EMULATED_DURATION_ERROR = 0.2
_META_TYPES = {name: shard_schema().field(name).type.to_pandas_dtype()
               for name in META_COLUMNS}


# --- feature cache -------------------------------------------------------------------------


def feature_caches(shard_paths: list[Path], digests: list[str], features: FeatureConfig,
                   cache_dir: Path, build: bool = True,
                   detections: pd.DataFrame | None = None) -> list[Path]:
    """The feature cache file of each shard, written first where missing when ``build``.

    A cache holds the features of every row of its shard (zeros for rows with too few good
    cadences; local views at the ephemerides of ``detections``, the detection tables) and,
    beside it (:func:`ok_path`), which rows have features. Its name comes from the shard's
    digest, the feature config, the detections' ephemerides and the library's source, so a
    change to any gets a new one; building deletes the folder's other caches.
    """
    signals = _ephemerides_digest(detections) if features.local_length else ""
    tag = config_hash({**features.to_dict(), "source_digest": source_digest(),
                       "ephemerides": signals})[:8]
    caches = [Path(cache_dir) / f"{digest[:16]}-{tag}.npy" for digest in digests]
    if build:
        _remove_other_caches(Path(cache_dir), caches)
    for shard, cache in zip(shard_paths, caches):
        if build and not (cache.exists() and ok_path(cache).exists()):
            _write_cache(shard, cache, features, detections)
    return caches


def _ephemerides_digest(detections: pd.DataFrame | None) -> str:
    """A digest of the columns of the detection tables that the local views read."""
    if detections is None:
        return ""
    columns = ["key", "copy", "status", "period", "epoch", "duration", "snr", "single_epoch",
               "single_duration", "single_snr"]
    hashed = pd.util.hash_pandas_object(detections[columns].sort_values(["key", "copy"]),
                                        index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def _remove_other_caches(cache_dir: Path, caches: list[Path]) -> None:
    """Delete the feature caches in ``cache_dir`` that are not ``caches`` (of other data,
    feature settings or code), which would otherwise pile up run after run."""
    keep = {path.name for cache in caches for path in (cache, ok_path(cache))}
    for path in cache_dir.glob("*.npy"):
        if path.name not in keep:
            path.unlink(missing_ok=True)


def ok_path(cache: Path) -> Path:
    """The file of a feature cache's mask of featurised rows."""
    return cache.with_suffix(".ok.npy")


def _write_cache(shard: Path, cache: Path, features: FeatureConfig,
                 detections: pd.DataFrame | None) -> None:
    table = open_shard(shard)
    result = featurize_table(table, features, table_ephemerides(table, detections))
    x = np.zeros((len(result.ok), len(features.channels), features.samples), dtype=np.float32)
    x[result.ok] = result.x
    for path, array in ((cache, x), (ok_path(cache), result.ok)):
        with atomic_output(path) as partial, open(partial, "wb") as handle:
            np.save(handle, array)


class ShardStore:
    """Shards (the columns that featurisation and injection read) and their feature caches,
    memory-mapped on first use in each process (the shards' columns read at once by the
    process that makes the store, for each row's search ephemeris: NaN without
    ``detections``)."""

    def __init__(self, shard_paths: list[Path], caches: list[Path],
                 detections: pd.DataFrame | None = None) -> None:
        self.shard_paths, self.caches = list(shard_paths), list(caches)
        self._columns: list[dict] | None = None
        self._features: list[np.ndarray] | None = None
        keys = [_shard_keys(columns) for columns in self.columns]
        every = (np.full((sum(map(len, keys)), 3), np.nan) if detections is None else
                 search_ephemerides(detections, [key for part in keys for key in part]))
        self.ephemerides = np.split(every, np.cumsum([len(part) for part in keys])[:-1])

    def __getstate__(self) -> dict:
        """Pickled (for spawned workers) without the open files."""
        return {**self.__dict__, "_columns": None, "_features": None}

    @property
    def columns(self) -> list[dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]]]:
        """Each shard's columns: metadata as arrays, cadences as flat values and row offsets."""
        if self._columns is None:
            self._columns = [_shard_columns(open_shard(path)) for path in self.shard_paths]
        return self._columns

    @property
    def features(self) -> list[np.ndarray]:
        """Each shard's cached features."""
        if self._features is None:
            self._features = [np.load(path, mmap_mode="r") for path in self.caches]
        return self._features

    def gather(self, shard: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Cached features of row ``row[i]`` of shard ``shard[i]``, in order."""
        x = np.empty((len(row), *self.features[0].shape[1:]), dtype=np.float32)
        for index in np.unique(shard):
            chosen = shard == index
            x[chosen] = self.features[index][row[chosen]]
        return x

    def row_ephemerides(self, shard: np.ndarray, row: np.ndarray) -> np.ndarray:
        """The ``(len(row), 3)`` search ephemerides of row ``row[i]`` of shard ``shard[i]``."""
        return np.array([self.ephemerides[s][r] for s, r in zip(shard, row)],
                        dtype=float).reshape(-1, 3)

    def rows(self, shard: np.ndarray, row: np.ndarray) -> Rows:
        """Row ``row[i]`` of shard ``shard[i]``, in order (read-only views of the shards)."""
        picked = [(self.columns[s], r) for s, r in zip(shard, row)]
        rows: Rows = {name: np.array([columns[name][r] for columns, r in picked], dtype=dtype)
                      for name, dtype in _META_TYPES.items()}
        for name in CADENCE_COLUMNS:
            rows[name] = [_row(*columns[name], r) for columns, r in picked]
        return rows


def _row(values: np.ndarray, offsets: np.ndarray, row: int) -> np.ndarray:
    return values[offsets[row]:offsets[row + 1]]


def _shard_columns(table: pa.Table) -> dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]]:
    columns = {name: table.column(name).to_numpy() for name in META_COLUMNS}
    for name in CADENCE_COLUMNS:
        column = table.column(name).combine_chunks()
        columns[name] = (column.values.to_numpy(zero_copy_only=False), column.offsets.to_numpy())
    return columns


@dataclass(frozen=True)
class FeatureRows:
    """Cached features of some rows, read when sliced (``len`` and ``[slice]`` like an array)."""

    store: ShardStore
    shard: np.ndarray
    row: np.ndarray

    def __len__(self) -> int:
        return len(self.row)

    def __getitem__(self, index: slice | np.ndarray) -> np.ndarray:
        return self.store.gather(self.shard[index], self.row[index])


@dataclass(frozen=True)
class LabelledSet:
    """The labelled light curves of one split: keys, class names and where they are."""

    keys: np.ndarray
    label: np.ndarray
    shard: np.ndarray
    row: np.ndarray
    store: ShardStore

    @property
    def y(self) -> np.ndarray:
        """Targets: 1 for a planet."""
        return (self.label == POSITIVE).astype(np.float32)

    @property
    def x(self) -> FeatureRows:
        """The features, read from the cache when sliced."""
        return FeatureRows(self.store, self.shard, self.row)

    def ephemerides(self, index: np.ndarray) -> np.ndarray:
        """The search ephemerides of light curves ``index`` of the set."""
        return self.store.row_ephemerides(self.shard[index], self.row[index])


def load_splits(shard_paths: list[Path], caches: list[Path], labels: pd.DataFrame,
                split: pd.DataFrame,
                detections: pd.DataFrame | None = None) -> dict[str, LabelledSet]:
    """The labelled light curves of each split, over the shards and their feature caches
    (and the search ephemerides of ``detections``, the detection tables).

    Light curves without a label (missing or NaN), a split or features (too few good
    cadences) are left out.
    """
    _require_columns(labels, ("key", "tic", "label"), "labels")
    _require_columns(split, ("tic", "split"), "split")
    labels = labels.dropna(subset=["label"])
    for frame, column, allowed in ((labels, "label", TRAINING_LABELS), (split, "split", SPLITS)):
        unknown = sorted(set(frame[column]) - set(allowed))
        if unknown:
            raise ValueError(f"unknown {column} values {unknown}; valid: {list(allowed)}")
    if not shard_paths:
        raise ValueError("no light-curve shards given")
    store = ShardStore(shard_paths, caches, detections)
    rows = pd.concat([_featurised_rows(columns, index, np.load(ok_path(cache)))
                      for index, (columns, cache) in enumerate(zip(store.columns, caches))])
    rows = rows.merge(labels[["key", "tic", "label"]], on="key").merge(split[["tic", "split"]],
                                                                      on="tic")
    return {name: LabelledSet(keys=part["key"].to_numpy(dtype=str),
                              label=part["label"].to_numpy(dtype=str),
                              shard=part["shard"].to_numpy(), row=part["row"].to_numpy(),
                              store=store)
            for name, part in ((name, rows[rows["split"] == name]) for name in SPLITS)}


def _featurised_rows(columns: dict, shard: int, ok: np.ndarray) -> pd.DataFrame:
    keys = _shard_keys(columns)
    return pd.DataFrame({"key": keys, "shard": shard, "row": np.arange(len(keys))})[ok]


def _shard_keys(columns: dict) -> list[str]:
    return [lightcurve_key(tic, sector) for tic, sector in
            zip(columns["tic"].tolist(), columns["sector"].tolist())]


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} table lacks column(s) {missing}")


# --- augmentation --------------------------------------------------------------------------


def augment(x: np.ndarray, rng: np.random.Generator, probabilities: Mapping[str, float],
            noise_level: float, length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each sample with one augmentation, drawn with ``probabilities``, or none.

    ``noise`` adds Gaussian white noise of a standard deviation uniform in
    ``[0, noise_level]``; ``roll`` shifts circularly by up to a tenth of the length either
    way (the events move, the sector's ends stay near the edges); ``swap`` cuts at a uniformly
    random index and exchanges the two parts (the ends meet anywhere); ``mirror`` reverses
    time. All channels of a sample move together. With a local view after the first
    ``length`` samples (:mod:`transitflow.features`), rolls and swaps move the global view
    alone and mirroring reverses each view on its own.

    Returns
    -------
    x : numpy.ndarray
        The augmented copy.
    names : numpy.ndarray
        Each sample's augmentation, ``""`` for none.
    """
    count, _, samples = x.shape
    length = samples if length is None else length
    weights = np.array([probabilities.get(name, 0.0) for name in AUGMENTATIONS])
    weights = np.append(weights, max(0.0, 1.0 - weights.sum()))
    names = np.array([*AUGMENTATIONS, ""])[rng.choice(len(weights), count,
                                                      p=weights / weights.sum())]
    limit = max(1, round(_ROLL_FRACTION * length))
    start = np.select([names == "roll", names == "swap"],
                      [rng.integers(-limit, limit + 1, count), rng.integers(1, length, count)])
    index = (np.arange(length) + start[:, None]) % length
    mirror = (names == "mirror")[:, None]
    index = np.where(mirror, length - 1 - index, index)
    local = np.arange(length, samples)
    index = np.hstack([index, np.where(mirror, length + samples - 1 - local, local)])
    out = np.take_along_axis(x, index[:, None, :], axis=2)
    noisy = names == "noise"
    sigma = rng.uniform(0.0, noise_level, (noisy.sum(), 1, 1)).astype(np.float32)
    out[noisy] += sigma * rng.standard_normal((noisy.sum(), *x.shape[1:]), dtype=np.float32)
    return out, names


def optional_channel_indices(channels: Sequence[str]) -> list[int]:
    """Where in ``channels`` the :data:`OPTIONAL_CHANNELS` are."""
    return [index for index, name in enumerate(channels) if name in OPTIONAL_CHANNELS]


def drop_channels(x: np.ndarray, rng: np.random.Generator, probability: float,
                  channels: Sequence[str]) -> np.ndarray:
    """``x``, changed in place: in each sample with ``probability``, some of its
    :data:`OPTIONAL_CHANNELS` zeroed as a light curve without them is featurised (one or
    several, each choice equally likely). Draws nothing when nothing can be dropped."""
    optional = optional_channel_indices(channels)
    if not optional or probability <= 0:
        return x
    choices = np.array(list(itertools.product((False, True), repeat=len(optional)))[1:])
    dropped = (choices[rng.integers(len(choices), size=len(x))]
               & (rng.random(len(x)) < probability)[:, None])
    x[:, optional] = np.where(dropped[:, :, None], np.float32(0.0), x[:, optional])
    return x


# --- the stream ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """One training batch.

    ``x`` is ``(batch, channels, samples)`` float32 (global and local views); per sample,
    ``label`` is its class, ``source`` one of :data:`SOURCES`, ``key`` the light curve (the
    host of an injection), ``donor`` the light curve whose signal was injected (else ""),
    ``augmentation`` one of :data:`AUGMENTATIONS` or "". ``transits`` holds the transit
    injections, as columns (``pandas.DataFrame(batch.transits)`` is their table): ``sample``
    (the index in the batch), ``key`` (the host) and :data:`transitflow.inject.TRANSIT_COLUMNS`.
    """

    x: np.ndarray
    label: np.ndarray
    source: np.ndarray
    key: np.ndarray
    donor: np.ndarray
    augmentation: np.ndarray
    transits: dict[str, np.ndarray]

    @property
    def y(self) -> np.ndarray:
        return (self.label == POSITIVE).astype(np.float32)


class TrainingStream(torch.utils.data.IterableDataset):
    """The endless stream of one rank's training batches, ``(x, y)`` tensors.

    Every batch has equal shares of each class present (planet, EB, non-transit). Of the
    planet and EB samples, ``injection_fraction`` are a non-transit light curve carrying the
    signal of a random light curve of their class; of the planet samples,
    ``physical_injection_fraction`` more are a non-transit light curve with a random model
    transit, and of the EB samples, ``eclipse_injection_fraction`` more one with a random
    model eclipsing binary (periods in ``eclipse_period_range``; a share
    ``eclipse_diluted_fraction`` of them diluted to planet-like depths). Each sample then
    gets at most one augmentation (:func:`augment`), and loses optional channels with
    probability ``missing_channels`` (:func:`drop_channels`).

    Batch ``n`` depends only on ``(seed, rank, n)``. The stream starts at batch ``start``;
    DataLoader worker ``w`` of ``W`` makes batches ``start + w``, ``start + w + W``, ...,
    which the loader returns in order, so the batches do not depend on the worker count.

    Parameters
    ----------
    data : LabelledSet
        The training split.
    features : FeatureConfig
        How injected light curves are featurised (that of the feature cache).
    batch_size, seed : int
    injection_fraction, physical_injection_fraction, eclipse_injection_fraction : float
    eclipse_period_range : tuple of float
    eclipse_diluted_fraction : float
    augmentation : mapping of str to float
        Probability of each of :data:`AUGMENTATIONS`; the rest is left unaugmented.
    noise_level : float
        Largest standard deviation of the ``noise`` augmentation.
    missing_channels : float
        Probability that a sample loses optional channels.
    prior : TransitPrior
        Distribution of the injected transits.
    rank, start : int
        The DDP rank, and the first batch.
    """

    def __init__(self, data: LabelledSet, features: FeatureConfig, batch_size: int, seed: int,
                 *, injection_fraction: float = 0.0, physical_injection_fraction: float = 0.0,
                 eclipse_injection_fraction: float = 0.0,
                 eclipse_period_range: tuple[float, float] = (0.5, 100.0),
                 eclipse_diluted_fraction: float = 0.0,
                 augmentation: Mapping[str, float] | None = None, noise_level: float = 0.05,
                 missing_channels: float = 0.0, prior: TransitPrior = TransitPrior(),
                 rank: int = 0, start: int = 0) -> None:
        super().__init__()
        self.data, self.features, self.batch_size, self.seed = data, features, batch_size, seed
        self.injection_fraction = injection_fraction
        self.physical_injection_fraction = physical_injection_fraction
        self.eclipse_injection_fraction = eclipse_injection_fraction
        self.eclipse_period_range = eclipse_period_range
        self.eclipse_diluted_fraction = eclipse_diluted_fraction
        self.augmentation = dict(augmentation or {})
        self.missing_channels = missing_channels
        self.noise_level, self.prior, self.rank, self.start = noise_level, prior, rank, start
        self.groups = {label: np.flatnonzero(data.label == label) for label in TRAINING_LABELS
                       if np.any(data.label == label)}
        if not self.groups:
            raise ValueError("no labelled light curves to train on")
        injected_share = (injection_fraction + physical_injection_fraction
                          + eclipse_injection_fraction)
        if injected_share > 0 and "non_transit" not in self.groups:
            raise ValueError("injections need non_transit light curves in the train split; set "
                             "injection_fraction, physical_injection_fraction and "
                             "eclipse_injection_fraction to 0")

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        for index in itertools.count(self.start + worker, workers):
            batch = self.batch(index)
            yield torch.from_numpy(batch.x), torch.from_numpy(batch.y)

    def batch(self, index: int) -> Batch:
        """Batch ``index`` of the stream."""
        rng = np.random.default_rng([self.seed, self.rank, index])
        label, source = self._plan(rng)
        own = np.empty(len(label), dtype=np.int64)
        for name, group in self.groups.items():
            own[label == name] = rng.choice(group, np.sum(label == name))
        hosts = (rng.choice(self.groups["non_transit"], len(label))
                 if "non_transit" in self.groups else own)
        row = np.where(source == "real", own, hosts)
        x = np.empty((len(label), len(self.features.channels), self.features.samples),
                     dtype=np.float32)
        real = source == "real"
        x[real] = self.data.x[row[real]]
        transits = self._inject(x, source, row, own, rng)
        x, augmentation = augment(x, rng, self.augmentation, self.noise_level,
                                  self.features.length)
        x = drop_channels(x, rng, self.missing_channels, self.features.channels)
        return Batch(x=x, label=label, source=source, key=self.data.keys[row],
                     donor=np.where(source == "signal", self.data.keys[own], ""),
                     augmentation=augmentation, transits=transits)

    def _plan(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Each sample's class (equal shares) and source."""
        names = list(self.groups)
        shares = np.full(len(names), self.batch_size // len(names))
        shares[:self.batch_size % len(names)] += 1
        label = np.repeat(names, shares)
        u = rng.random(self.batch_size)
        signal = (label != "non_transit") & (u < self.injection_fraction)
        transit = (label == POSITIVE) & ~signal & (
            u < self.injection_fraction + self.physical_injection_fraction)
        eclipse = (label == "eb") & ~signal & (
            u < self.injection_fraction + self.eclipse_injection_fraction)
        return label, np.select([signal, transit, eclipse], ["signal", "transit", "eclipse"],
                                "real")

    def _inject(self, x: np.ndarray, source: np.ndarray, row: np.ndarray, own: np.ndarray,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Fill the injected samples of ``x``; the transit injections' samples and parameters."""
        signal, transit, eclipse = (np.flatnonzero(source == name)
                                    for name in ("signal", "transit", "eclipse"))
        drawn = {name: np.empty(0) for name in TRANSIT_COLUMNS}
        injected = np.concatenate([signal, transit, eclipse])
        if len(injected):
            bitmask, n, m = self.features.quality_bitmask, len(signal), len(transit)
            hosts, donors = self._rows(row[injected]), self._rows(own[signal])
            signals = inject_signals(slice_rows(hosts, 0, n), donors, bitmask)
            transits, drawn = inject_transits(slice_rows(hosts, n, n + m), rng, bitmask,
                                              self.prior)
            eclipses, binaries = inject_eclipses(slice_rows(hosts, n + m), rng, bitmask,
                                                 self.eclipse_period_range,
                                                 self.eclipse_diluted_fraction)
            ephemerides = None
            if self.features.local_length:
                ephemerides = np.concatenate([
                    donor_ephemerides(self.data.ephemerides(own[signal]), donors,
                                      slice_rows(hosts, 0, n), bitmask),
                    emulated_ephemerides(drawn, self.data.ephemerides(row[transit]), rng),
                    emulated_ephemerides(binary_signals(binaries, slice_rows(hosts, n + m)),
                                         self.data.ephemerides(row[eclipse]), rng)])
            table = rows_table(concat_rows([signals, transits, eclipses]))
            x[injected] = featurize_table(table, self.features, ephemerides).x
        return {"sample": transit, "key": self.data.keys[row[transit]], **drawn}

    def _rows(self, index: np.ndarray) -> Rows:
        return self.data.store.rows(self.data.shard[index], self.data.row[index])


# --- the search ephemerides of injected samples --------------------------------------------


def emulated_ephemerides(signals: Mapping[str, np.ndarray], host_ephemerides: np.ndarray,
                         rng: np.random.Generator) -> np.ndarray:
    """The ``(n, 3)`` ephemerides that the detection search would give light curves carrying
    injected ``signals`` (``period``, ``epoch``, ``duration``, ``snr``, ``n_transits``),
    without running it: the signal's own where its expected SNR reaches
    :data:`EMULATED_FOUND_SNR`, its epoch and duration off as the search's grid places them
    (a Laplace error of :data:`EMULATED_EPOCH_ERROR` durations; the duration shorter by
    :data:`EMULATED_DURATION_RATIO`, its log off by :data:`EMULATED_DURATION_ERROR`), a single
    event (period inf) where one transit is in the data; elsewhere the host's own (the noise
    peak that the search found before the injection)."""
    count = len(signals["period"])
    duration = signals["duration"] * EMULATED_DURATION_RATIO * np.exp(
        EMULATED_DURATION_ERROR * rng.standard_normal(count))
    epoch = signals["epoch"] + signals["duration"] * rng.laplace(0.0, EMULATED_EPOCH_ERROR, count)
    period = np.where(signals["n_transits"] >= 2, signals["period"], np.inf)
    found = (signals["snr"] >= EMULATED_FOUND_SNR)[:, None]
    return np.where(found, np.column_stack([period, epoch, duration]),
                    host_ephemerides.reshape(-1, 3))


def binary_signals(ephemerides: np.ndarray, hosts: Rows) -> dict[str, np.ndarray]:
    """Injected binaries (:func:`~transitflow.inject.inject_eclipses`) as signals for
    :func:`emulated_ephemerides`: every eclipse found, counted over the hosts' time spans."""
    period, epoch, duration = ephemerides.T if len(ephemerides) else np.empty((3, 0))
    first = np.array([np.nanmin(time) for time in hosts["time"]]).reshape(-1)
    last = np.array([np.nanmax(time) for time in hosts["time"]]).reshape(-1)
    events = np.floor((last - epoch) / period) + np.floor((epoch - first) / period) + 1
    return {"period": period, "epoch": epoch, "duration": duration,
            "snr": np.full(len(period), np.inf), "n_transits": events}


def donor_ephemerides(ephemerides: np.ndarray, donors: Rows, hosts: Rows,
                      bitmask: int) -> np.ndarray:
    """The search ephemerides of donors' signals as :func:`~transitflow.inject.inject_signals`
    places them on their hosts (shifted by the hosts' start less the donors')."""
    shifted = np.array(ephemerides, dtype=float).reshape(-1, 3)
    for index, (host_time, donor_time, good) in enumerate(
            zip(hosts["time"], donors["time"], good_cadences(donors, bitmask))):
        shifted[index, 1] += np.nanmin(host_time) - donor_time[good][0]
    return shifted

"""The MAST data source: list a sector's TESS light curves, download them, query the TIC.

A :class:`MastClient` does all talking to the archives (:class:`AstroqueryClient`:
astroquery for listings and catalogs, ``requests`` for files). The functions here add
what a bulk download needs: retries with exponential backoff (:mod:`transitflow.http`),
bounded concurrency, size checks, atomic writes into a cache shared between runs (so an
interrupted sector resumes), a ledger row per expected light curve, and shards to spread
a sector over jobs. Only the client touches the network, so tests replay recorded answers
through it.
"""

from __future__ import annotations

import fcntl
import importlib
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import numpy as np
import pandas as pd
import requests
from tqdm import tqdm

from transitflow.files import packed
from transitflow.http import GaveUp, RetryPolicy, SizeMismatch, describe, save_url, unreachable
from transitflow.options import options_from_dict
from transitflow.provenance import make_provenance
from transitflow.tables import read_table, write_table

log = logging.getLogger(__name__)
T = TypeVar("T")

DOWNLOAD_PATH = "/api/v0.1/Download/file"  # below astroquery's MAST server setting
QUERY_BATCH = 500  # TIC IDs, observations or Gaia IDs per MAST/Gaia request

#: Listing columns and dtypes: one row per expected light-curve file.
LISTING_COLUMNS = {"tic": "int64", "sector": "int64", "product": "object", "filename": "object",
                   "uri": "object", "size": "int64"}
#: Ledger columns and dtypes: one row per listing row.
LEDGER_COLUMNS = {"tic": "int64", "sector": "int64", "filename": "object", "path": "object",
                  "status": "object", "reason": "object", "attempts": "int64", "bytes": "int64"}
#: Stellar parameters taken from the TIC (contamination: flux fraction, see :func:`tic_rows`).
PARAMETERS = ("tmag", "radius", "teff", "logg", "contamination")
TIC_COLUMNS = {"ID": "tic", "Tmag": "tmag", "rad": "radius", "Teff": "teff", "logg": "logg",
               "contratio": "contamination", "GAIA": "gaia_id"}
GAIA_COLUMNS = {"gaia_id": "object", "gaia_radius": "float64"}
CACHE_COLUMNS = {"tic": "int64", **dict.fromkeys(PARAMETERS, "float64"), **GAIA_COLUMNS}
#: Gaia DR3 GSP-Phot radius of the DR3 sources nearest to Gaia DR2 IDs (the TIC's GAIA).
GAIA_RADIUS_QUERY = (
    "SELECT n.dr2_source_id, ap.radius_gspphot FROM gaiadr3.dr2_neighbourhood AS n "
    "JOIN gaiadr3.astrophysical_parameters AS ap ON ap.source_id = n.dr3_source_id "
    "WHERE n.dr2_source_id IN ({ids}) ORDER BY n.dr2_source_id, n.angular_distance")
TARGET_CSV_COLUMNS = ("tic", "tic id", "tic_id", "ticid")
_SERVICES = {"observations": ("astroquery.mast", "Observations"),
             "catalogs": ("astroquery.mast", "Catalogs"), "gaia": ("astroquery.gaia", "Gaia")}


@dataclass(frozen=True)
class ProductSpec:
    """How MAST lists one light-curve product: observation criteria and the file name,
    whose groups ``tic`` and ``sector`` identify the light curve."""

    criteria: Mapping[str, str]
    filename: re.Pattern[str]


PRODUCTS = {
    "spoc-2min": ProductSpec(
        {"obs_collection": "TESS", "dataproduct_type": "timeseries", "provenance_name": "SPOC"},
        re.compile(r"tess\d{13}-s(?P<sector>\d{4})-(?P<tic>\d{16})-\d{4}-s_lc\.fits")),
    "tess-spoc": ProductSpec(
        {"obs_collection": "HLSP", "dataproduct_type": "timeseries",
         "provenance_name": "TESS-SPOC"},
        re.compile(r"hlsp_tess-spoc_tess_phot_(?P<tic>\d{16})-s(?P<sector>\d{4})_tess_v\d+_lc"
                   r"\.fits")),
    "qlp": ProductSpec(
        {"obs_collection": "HLSP", "dataproduct_type": "timeseries", "provenance_name": "QLP"},
        re.compile(r"hlsp_qlp_tess_ffi_s(?P<sector>\d{4})-(?P<tic>\d{16})_tess_v\d+_llc\.fits")),
}


class MastUnreachable(ConnectionError):
    """MAST did not answer; ``str()`` is one line saying what failed and what to do."""

    def __init__(self, what: str, error: BaseException) -> None:
        super().__init__(f"MAST could not be reached ({what}: {describe(error)}); check the "
                         "network, or use source=local with light curves already on disk")


def _query(retry: RetryPolicy, what: str, call: Callable[[], T]) -> T:
    """``call()`` with retries; :class:`MastUnreachable` if it never got through."""
    try:
        return retry.run(call)[0]
    except GaveUp as gave_up:
        if unreachable(gave_up.error):
            raise MastUnreachable(what, gave_up.error) from gave_up.error
        raise gave_up.error from None


def parse_sectors(value: int | str | Sequence[int | str]) -> tuple[int, ...]:
    """Sorted unique sectors from ``5``, ``"1-13"``, ``"1-3,7"`` or ``[1, "4-6"]``."""
    items = value.split(",") if isinstance(value, str) else np.atleast_1d(value).tolist()
    sectors: set[int] = set()
    for item in items:
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(item))
        low, high = (int(match[1]), int(match[2] or match[1])) if match else (0, 0)
        if not 1 <= low <= high:
            raise ValueError(f"mast: sectors must be numbers or ranges like 1-13, got {item!r}")
        sectors.update(range(low, high + 1))
    if not sectors:
        raise ValueError("mast: sectors is empty; give a list or a range like 1-13")
    return tuple(sorted(sectors))


def read_targets(path: str | Path) -> tuple[int, ...]:
    """Sorted unique TIC IDs from the ``tic`` (or ``TIC ID``, ``tic_id``, ``ticid``) column
    of a CSV file, such as an ExoFOP TOI table."""
    table = pd.read_csv(path, dtype=str, usecols=lambda name: name.strip().lower()
                        in TARGET_CSV_COLUMNS)
    if table.columns.empty:
        raise ValueError(f"{path}: no TIC column; name one of {', '.join(TARGET_CSV_COLUMNS)}")
    column = table.iloc[:, 0]
    tics = pd.to_numeric(column, errors="coerce")
    if tics.isna().any():
        raise ValueError(f"{path}: {column.name!r} holds {column[tics.isna()].iloc[0]!r}, "
                         "not a TIC ID")
    return tuple(sorted(set(tics.astype("int64").tolist())))


@dataclass(frozen=True)
class MastConfig:
    """What to fetch from MAST and how (the ``mast`` config section).

    ``sectors`` is a list or a range string (see :func:`parse_sectors`); ``product`` is a key
    of :data:`PRODUCTS`; ``targets`` a list of TIC IDs, a CSV file (see
    :func:`read_targets`) or None for every target of the sectors. Files go to
    ``cache_dir/<product>/s<sector:04d>/``, which runs can share.
    """

    sectors: tuple[int, ...]
    product: str = "spoc-2min"
    targets: tuple[int, ...] | str | None = None
    cache_dir: str = "cache/mast"
    max_workers: int = 4
    retries: int = 4
    backoff_s: float = 1.0
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sectors", parse_sectors(self.sectors))
        if self.product not in PRODUCTS:
            raise ValueError(f"mast: unknown product {self.product!r}; known: "
                             f"{', '.join(PRODUCTS)}")
        if self.targets is not None and not isinstance(self.targets, str):
            tics = {int(tic) for tic in np.atleast_1d(self.targets)}
            object.__setattr__(self, "targets", tuple(sorted(tics)))
        if (self.max_workers < 1 or self.retries < 0 or self.backoff_s < 0
                or self.timeout_s <= 0):
            raise ValueError("mast: needs max_workers >= 1, retries >= 0, backoff_s >= 0 "
                             "and timeout_s > 0")

    @classmethod
    def from_dict(cls, options: Mapping) -> MastConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "mast")

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(self.retries, self.backoff_s)

    def target_tics(self) -> tuple[int, ...] | None:
        """The TIC IDs to list, or None for every target of the sectors."""
        return read_targets(self.targets) if isinstance(self.targets, str) else self.targets


class MastClient(Protocol):
    """What the functions here need from MAST (and the Gaia archive)."""

    def list_products(self, sector: int, product: str,
                      tics: Sequence[int] | None) -> pd.DataFrame:
        """The light-curve files of ``product`` in ``sector`` (:data:`LISTING_COLUMNS`),
        of the given targets or of all."""

    def fetch(self, uri: str, dest: Path) -> int:
        """Download the file of MAST data URI ``uri`` to ``dest``; the bytes written."""

    def query_tic(self, tics: Sequence[int]) -> pd.DataFrame:
        """TIC rows (see :func:`tic_rows`) of the TIC IDs that the TIC holds."""

    def query_gaia_radius(self, gaia_ids: Sequence[str]) -> pd.DataFrame:
        """``gaia_id`` (Gaia DR2) and ``gaia_radius`` (Gaia DR3, R_sun) where known."""


class AstroqueryClient:
    """MAST through astroquery (listings, TIC, Gaia DR3) and ``requests`` (files).

    ``observations``, ``catalogs`` and ``gaia`` default to astroquery's ``Observations``,
    ``Catalogs`` and ``Gaia`` (imported on first use); tests pass stand-ins. Files are
    fetched from ``download_url`` (default: the download endpoint of astroquery's MAST
    server setting, ``astroquery.mast.conf.server``, so a MAST mirror set there serves both)
    with one HTTP session per thread and a ``timeout_s`` connect/read timeout. Use it as a
    context manager so the sessions get closed.
    """

    def __init__(self, *, observations: Any = None, catalogs: Any = None, gaia: Any = None,
                 download_url: str | None = None, timeout_s: float = 60.0) -> None:
        given = {"observations": observations, "catalogs": catalogs, "gaia": gaia}
        self._services = {name: service for name, service in given.items()
                          if service is not None}
        self.download_url, self.timeout_s = download_url, timeout_s
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: MastConfig) -> AstroqueryClient:
        return cls(timeout_s=config.timeout_s)

    def __enter__(self) -> AstroqueryClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP sessions of every thread."""
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def list_products(self, sector: int, product: str,
                      tics: Sequence[int] | None = None) -> pd.DataFrame:
        criteria = {**PRODUCTS[product].criteria, "sequence_number": sector}
        if tics is not None:
            criteria["target_name"] = [str(tic) for tic in tics]
        observations = self._service("observations")
        found = observations.query_criteria(**criteria)
        return _concat([product_rows(observations.get_product_list(found[i:i + QUERY_BATCH]),
                                     product) for i in range(0, len(found), QUERY_BATCH)],
                       LISTING_COLUMNS)

    def fetch(self, uri: str, dest: Path) -> int:
        url = f"{self._download_url()}?uri={quote(uri, safe=':/')}"
        return save_url(self._session().get, url, dest, self.timeout_s)

    def query_tic(self, tics: Sequence[int]) -> pd.DataFrame:
        ids = [str(tic) for tic in tics]
        return tic_rows(self._service("catalogs").query_criteria(catalog="Tic", ID=ids))

    def query_gaia_radius(self, gaia_ids: Sequence[str]) -> pd.DataFrame:
        query = GAIA_RADIUS_QUERY.format(ids=", ".join(str(int(gaia)) for gaia in gaia_ids))
        return gaia_rows(self._service("gaia").launch_job(query).get_results())

    def _service(self, name: str) -> Any:
        if name not in self._services:
            module, attribute = _SERVICES[name]
            self._services[name] = getattr(importlib.import_module(module), attribute)
        return self._services[name]

    def _download_url(self) -> str:
        if self.download_url is None:
            server = importlib.import_module("astroquery.mast").conf.server
            self.download_url = server.rstrip("/") + DOWNLOAD_PATH
        return self.download_url

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(self._local.session)
        return self._local.session


def _frame(rows: Sequence, columns: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(columns)).astype(dict(columns))


def _concat(frames: Sequence[pd.DataFrame], columns: Mapping[str, str]) -> pd.DataFrame:
    """Concatenated non-empty ``frames``; an empty frame with ``columns`` if none."""
    frames = [frame for frame in frames if len(frame)]
    return pd.concat(frames, ignore_index=True) if frames else _frame([], columns)


def _batches(items: Sequence[T] | None, size: int) -> Iterator[Sequence[T] | None]:
    """Consecutive slices of ``size`` items; one None for None."""
    if items is None:
        yield None
        return
    for start in range(0, len(items), size):
        yield items[start:start + size]


def product_rows(products, product: str) -> pd.DataFrame:
    """Listing rows (:data:`LISTING_COLUMNS`) of the ``product`` light curves among the
    rows of a MAST product list (``productFilename``, ``dataURI``, ``size`` in bytes; a
    missing size becomes 0, unknown)."""
    pattern, rows = PRODUCTS[product].filename, []
    for name, uri, size in zip(products["productFilename"], products["dataURI"],
                               products["size"], strict=True):
        match = pattern.fullmatch(str(name))
        if match:
            rows.append((int(match["tic"]), int(match["sector"]), product, str(name), str(uri),
                         0 if np.ma.is_masked(size) else int(size)))
    return _frame(rows, LISTING_COLUMNS)


def tic_rows(table) -> pd.DataFrame:
    """``tic``, :data:`PARAMETERS` and ``gaia_id`` (DR2, "" if none) from TIC rows.

    The TIC's ``contratio`` (contaminating over target flux) becomes ``contamination``,
    the contaminating fraction of the flux, c / (1 + c), as ``1 - CROWDSAP`` elsewhere.
    """
    frame = table[list(TIC_COLUMNS)].to_pandas().rename(columns=TIC_COLUMNS)
    values = {name: pd.to_numeric(frame[name]).astype("float64") for name in PARAMETERS}
    values["contamination"] /= 1.0 + values["contamination"]
    return frame.assign(tic=frame["tic"].astype("int64"), **values,
                        gaia_id=frame["gaia_id"].fillna("").astype(str)).drop_duplicates("tic")


def gaia_rows(table) -> pd.DataFrame:
    """``gaia_id`` and ``gaia_radius`` of a Gaia DR3 answer to :data:`GAIA_RADIUS_QUERY`,
    the nearest DR3 source with a radius per DR2 ID."""
    frame = table.to_pandas().rename(columns=str.lower)
    frame = pd.DataFrame({"gaia_id": frame["dr2_source_id"].astype(str),
                          "gaia_radius": pd.to_numeric(frame["radius_gspphot"])})
    return frame.dropna().drop_duplicates("gaia_id", ignore_index=True)


def list_sector(config: MastConfig, client: MastClient) -> pd.DataFrame:
    """The light curves to fetch: one row per file (:data:`LISTING_COLUMNS`), sorted.

    Lists every configured sector (one job per sector: give one sector per config), the
    targets in batches of :data:`QUERY_BATCH`; a file listed twice is kept once.

    Raises
    ------
    MastUnreachable
        If MAST cannot be reached after the retries.
    """
    tics = config.target_tics()
    frames = [_query(config.retry, f"listing sector {sector} ({config.product})",
                     partial(client.list_products, sector, config.product, batch))
              for sector in config.sectors for batch in _batches(tics, QUERY_BATCH)]
    listing = _concat(frames, LISTING_COLUMNS).drop_duplicates("filename")
    return listing.sort_values(["sector", "tic", "filename"], ignore_index=True)


def plan_shards(listing: pd.DataFrame, shard_size: int) -> list[pd.DataFrame]:
    """``listing`` cut into shards of about ``shard_size`` rows, one per download job, each
    star's sectors in one shard (:func:`~transitflow.files.packed`) so that they can be
    searched together; the same listing always gives the same shards."""
    rows = listing.groupby("tic", sort=True).indices.values()
    return [listing.iloc[np.sort(shard)].reset_index(drop=True)
            for shard in packed((list(indices) for indices in rows), shard_size)]


def download(listing: pd.DataFrame, config: MastConfig, client: MastClient,
             progress: bool = True) -> pd.DataFrame:
    """Download the listed files into the cache; the ledger (:data:`LEDGER_COLUMNS`).

    Files already in the cache with the listed size are ``skipped``. The others are
    fetched by ``config.max_workers`` threads into ``<file>.<pid>.part`` and renamed once
    their size is checked (``downloaded``); transient failures are retried with
    exponential backoff, and a file that still fails is ``failed`` with the reason, while
    the other files go on. ``path`` is where the file is (or would be) in the cache.

    Raises
    ------
    MastUnreachable
        If no connection to MAST could be made for a file after its retries and no file
        got an answer yet (the files already downloaded stay).
    """
    reached, rows = threading.Event(), []
    with (ThreadPoolExecutor(max_workers=config.max_workers) as pool,
          tqdm(total=len(listing), desc="download", unit="file", disable=not progress) as bar):
        futures = [pool.submit(_download_one, row, config, client, reached)
                   for row in listing.itertuples(index=False)]
        try:
            for future in as_completed(futures):
                rows.append(future.result())
                bar.update()
        except MastUnreachable:
            pool.shutdown(cancel_futures=True)
            raise
    return _frame(rows, LEDGER_COLUMNS).sort_values(["sector", "tic", "filename"],
                                                    ignore_index=True)


def run_mast_list(options: Mapping, shard_size: int, out: str | Path,
                  shards_dir: str | Path) -> list[pd.DataFrame]:
    """The listing stage: list the configured sectors' light curves (:func:`list_sector`)
    into ``out`` and cut the listing into download shards of about ``shard_size`` files
    (:func:`plan_shards`), ``<shards_dir>/0000.parquet`` on; return the shards. ``options``
    is the config's ``mast`` section."""
    config = MastConfig.from_dict(options)
    with AstroqueryClient.from_config(config) as client:
        listing = list_sector(config, client)
    if listing.empty:
        raise ValueError(f"MAST lists no {config.product} light curves in sectors "
                         f"{config.sectors}{' for the targets' if config.targets else ''}; "
                         "check mast: sectors, product and targets")
    targets_file = [config.targets] if isinstance(config.targets, str) else []
    provenance = make_provenance("mast-list", options, targets_file)
    write_table(listing, out, provenance)
    Path(shards_dir).mkdir(parents=True, exist_ok=True)
    shards = plan_shards(listing, shard_size)
    for number, shard in enumerate(shards):
        write_table(shard, Path(shards_dir) / f"{number:04d}.parquet", provenance)
    log.info("%d light curves listed in sectors %s, %d download shards", len(listing),
             config.sectors, len(shards))
    return shards


def run_mast_download(listing: str | Path, options: Mapping, ledger: str | Path) -> pd.DataFrame:
    """The download stage: download the files of the listing shard ``listing`` into the
    cache (:func:`download`) and ask the TIC about their stars (:func:`stellar_parameters`,
    into the cache too, so that the data job that reads them needs no network: compute
    nodes may have none); write the ledger to ``ledger`` and return it. ``options`` is the
    config's ``mast`` section."""
    config = MastConfig.from_dict(options)
    with AstroqueryClient.from_config(config) as client:
        downloads = download(read_table(listing), config, client)
        stellar_parameters(downloads["tic"], client, tic_cache(config), retry=config.retry)
    write_table(downloads, ledger, make_provenance("mast-download", options, [listing]))
    log.info("%s", downloads["status"].value_counts().to_dict())
    return downloads


def _download_one(row, config: MastConfig, client: MastClient,
                  reached: threading.Event) -> tuple:
    dest = Path(config.cache_dir) / row.product / f"s{row.sector:04d}" / row.filename
    first = (row.tic, row.sector, row.filename, str(dest))
    if dest.is_file() and _has_size(present := dest.stat().st_size, row.size):
        return (*first, "skipped", "already in the cache", 0, present)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    try:
        nbytes, attempts = config.retry.run(partial(_fetch, client, row, part, dest, reached))
    except GaveUp as gave_up:
        part.unlink(missing_ok=True)
        if unreachable(gave_up.error) and not reached.is_set():
            raise MastUnreachable(f"download of {row.filename}", gave_up.error) from gave_up
        log.warning("%s: failed after %d attempts: %s", row.filename, gave_up.attempts, gave_up)
        return (*first, "failed", str(gave_up), gave_up.attempts, 0)
    return (*first, "downloaded", "", attempts, nbytes)


def _fetch(client: MastClient, row, part: Path, dest: Path, reached: threading.Event) -> int:
    """One attempt: fetch into ``part``, check the size, rename to ``dest``."""
    try:
        nbytes = client.fetch(row.uri, part)
    except requests.HTTPError:
        reached.set()  # MAST answered, if with an error
        raise
    reached.set()
    if not _has_size(nbytes, row.size):
        raise SizeMismatch(f"got {nbytes} bytes, MAST lists {row.size}")
    os.replace(part, dest)
    return nbytes


def _has_size(nbytes: int, listed: int) -> bool:
    """Whether a file of ``nbytes`` is complete (any non-empty file if the size is unknown)."""
    return nbytes == listed if listed > 0 else nbytes > 0


def stellar_parameters(tics: Sequence[int], client: MastClient, cache_path: str | Path,
                       fits_headers: pd.DataFrame | None = None, *,
                       batch_size: int = QUERY_BATCH,
                       retry: RetryPolicy = RetryPolicy()) -> pd.DataFrame:
    """Stellar parameters per TIC: the TIC, else the FITS header, else Gaia DR3 (radius).

    Parameters
    ----------
    tics
        TIC IDs (repeats are fine).
    client
        Queries the TIC in batches of ``batch_size`` and, for stars with a Gaia ID but no
        TIC radius, the Gaia DR3 radius.
    cache_path
        Parquet cache of catalog answers; TICs found there are not queried again (stars
        missing from the TIC are cached too). Runs can share it.
    fits_headers
        Header values per light curve: ``tic`` and any of :data:`PARAMETERS`, as in the
        data stage's stars table; they fill what the TIC leaves empty.

    Returns
    -------
    pandas.DataFrame
        One row per TIC, sorted: ``tic``, :data:`PARAMETERS` (NaN where nothing is known),
        ``gaia_id`` and ``radius_source`` (``tic``, ``header``, ``gaia-dr3`` or "").

    Raises
    ------
    MastUnreachable
        If the TIC (or the Gaia archive) cannot be reached after the retries.
    """
    wanted = sorted({int(tic) for tic in tics})
    catalog = _cached_catalog(Path(cache_path), wanted, client, batch_size, retry)
    catalog = catalog.drop_duplicates("tic").set_index("tic").loc[wanted]
    values = catalog[list(PARAMETERS)]
    header = _header_values(fits_headers, values.index)
    filled = values.fillna(header)
    filled["radius"] = filled["radius"].fillna(catalog["gaia_radius"])
    source = np.select([values["radius"].notna(), header["radius"].notna(),
                        catalog["gaia_radius"].notna()], ["tic", "header", "gaia-dr3"], "")
    return filled.assign(gaia_id=catalog["gaia_id"], radius_source=source).reset_index()


def tic_cache(config: MastConfig) -> Path:
    """The cache of TIC (and Gaia) answers, shared by the runs of one ``cache_dir``."""
    return Path(config.cache_dir) / "tic.parquet"


def _cached_catalog(path: Path, tics: list[int], client: MastClient, batch_size: int,
                    retry: RetryPolicy) -> pd.DataFrame:
    """The cache (:data:`CACHE_COLUMNS`), with the ``tics`` it lacked queried and added.
    The answers are merged into the cache as it is then, under a lock, so that jobs adding
    stars side by side keep each other's; reading and querying take no lock."""
    cache = _read_cache(path)
    new = sorted(set(tics) - set(cache["tic"]))
    if not new:
        return cache
    found = _catalog_rows(new, client, batch_size, retry)
    with _locked(path.with_name(f"{path.name}.lock")):
        cache = _concat([_read_cache(path), found], CACHE_COLUMNS).drop_duplicates(
            "tic", ignore_index=True)
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        cache.to_parquet(part, index=False)
        os.replace(part, path)
    return cache


def _read_cache(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.exists() else _frame([], CACHE_COLUMNS)


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive lock on ``lock_path`` (created) while inside; on a file system without
    locks, a warning and no lock."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            locked = True
        except OSError as error:
            log.warning("%s: no file lock here (%s); jobs updating the TIC cache at the same "
                        "time may each ask MAST again", lock_path, error)
            locked = False
        try:
            yield
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _catalog_rows(tics: list[int], client: MastClient, batch_size: int,
                  retry: RetryPolicy) -> pd.DataFrame:
    found = _concat([_query(retry, "TIC query", partial(client.query_tic, batch))
                     for batch in _batches(tics, batch_size)],
                    {name: CACHE_COLUMNS[name] for name in ("tic", *PARAMETERS, "gaia_id")})
    rows = pd.DataFrame({"tic": tics}).merge(found, on="tic", how="left")
    rows["gaia_id"] = rows["gaia_id"].fillna("")
    need = sorted(set(rows.loc[rows["radius"].isna() & (rows["gaia_id"] != ""), "gaia_id"]))
    gaia = _concat([_query(retry, "Gaia DR3 radius query",
                           partial(client.query_gaia_radius, batch))
                    for batch in _batches(need, batch_size)], GAIA_COLUMNS)
    return rows.merge(gaia, on="gaia_id", how="left").astype(CACHE_COLUMNS)


def _header_values(headers: pd.DataFrame | None, index: pd.Index) -> pd.DataFrame:
    """The first non-NaN header value per TIC and parameter, on ``index``; NaN elsewhere."""
    if headers is None:
        return pd.DataFrame(np.nan, index=index, columns=list(PARAMETERS))
    present = [name for name in PARAMETERS if name in headers]
    first = headers.groupby("tic")[present].first()
    return first.reindex(index=index, columns=list(PARAMETERS)).astype("float64")

"""The one light-curve type every stage works on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from importlib import import_module

import numpy as np

BTJD_ZERO = 2457000.0  # TESS times are BTJD = BJD - 2457000
BKJD_ZERO = 2454833.0  # Kepler/K2 times are BKJD = BJD - 2454833

#: TESS quality bits dropped by default: attitude tweak (1), safe mode (2), coarse (4) and
#: earth (8) point, Argabrightening (16), desaturation (32, momentum dump), manual exclude
#: (128), cosmic ray in collateral data (1024), straylight (2048, 4096), bad calibration
#: (16384); and two bits that only Kepler and K2 set (TESS flags stop at 32768): no data
#: (65536) and thruster firing (1048576), whose cadences lightkurve's Kepler default drops too.
DEFAULT_QUALITY_BITMASK = (1 | 2 | 4 | 8 | 16 | 32 | 128 | 1024 | 2048 | 4096 | 16384
                           | 65536 | 1048576)
#: Bit set on cadences of a reaction-wheel momentum dump ("desaturation event").
MOMENTUM_DUMP_BIT = 32

#: Flux columns already corrected for other stars' light in the aperture (SPOC's PDC divides
#: by CROWDSAP); transits in any other flux are diluted by ``contamination``.
CROWDING_CORRECTED = frozenset({"PDCSAP_FLUX"})

#: Sector number of a light curve that joins all observations of a star (:func:`stitch`); no
#: mission numbers its sectors, campaigns or quarters this high.
STITCHED_SECTOR = 9999

ARRAY_FIELDS = ("time", "flux", "flux_err", "centroid_col", "centroid_row", "background", "quality")


#: The catalogue each mission names its stars in: a star is (mission, ID in that catalogue).
MISSION_CATALOGS = {"TESS": "TIC", "K2": "EPIC", "Kepler": "KIC"}
#: What each mission calls the stretch of observations that ``sector`` numbers.
MISSION_SECTORS = {"TESS": "sector", "K2": "campaign", "Kepler": "quarter"}


def star_id(mission: str, number: int) -> str:
    """A star's name in its mission's catalogue, e.g. ``TIC 25155310`` or ``EPIC 206103150``."""
    return f"{MISSION_CATALOGS.get(mission, mission)} {number}"


#: Spacings on each side of a time that give the cadence there (:func:`cadence_at`).
LOCAL_CADENCE_SPACINGS = 10


def cadence_at(time: np.ndarray, at: np.ndarray | float) -> np.ndarray:
    """The cadence, days, of the data at each time of ``at``: the shortest of the
    :data:`LOCAL_CADENCE_SPACINGS` spacings before it and of those after it, whichever is
    longer. So dropped (flagged) cadences do not count, and in sectors of different cadences
    joined in one light curve (:func:`stitch`) each keeps its own up to the gap between
    them. NaN with one cadence."""
    spacing = np.diff(time)
    if not len(spacing):
        return np.full(np.shape(at), np.nan)
    first_after = np.asarray(np.searchsorted(time, at))[..., None]
    steps = np.arange(LOCAL_CADENCE_SPACINGS)
    before = spacing[np.clip(first_after - 1 - steps, 0, len(spacing) - 1)].min(axis=-1)
    after = spacing[np.clip(first_after + steps, 0, len(spacing) - 1)].min(axis=-1)
    return np.maximum(before, after)


def lightcurve_key(tic: int, sector: int) -> str:
    """Stable identifier of one light curve: ``<tic>-s<sector:04d>``."""
    return f"{tic}-s{sector:04d}"


@dataclass(frozen=True)
class LightCurveMeta:
    """Who and what a light curve is. Unknown numbers are NaN, unknown text is ""."""

    tic: int  # TIC ID (EPIC ID for K2 light curves, see ``mission``)
    sector: int  # TESS sector (K2 campaign for K2)
    mission: str = "TESS"
    camera: int = -1
    ccd: int = -1
    cadence_min: float = float("nan")
    tmag: float = float("nan")
    radius: float = float("nan")  # stellar radius, R_sun
    teff: float = float("nan")  # K
    logg: float = float("nan")  # cgs
    mass: float = float("nan")  # M_sun
    contamination: float = float("nan")  # flux fraction from other sources: 1 - CROWDSAP
    flux_column: str = ""  # where ``flux`` came from, e.g. PDCSAP_FLUX (see CROWDING_CORRECTED)
    ra: float = float("nan")  # deg, ICRS
    dec: float = float("nan")  # deg, ICRS
    source_file: str = ""

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def key(self) -> str:
        return lightcurve_key(self.tic, self.sector)

    @property
    def star_id(self) -> str:
        """The star's name in its mission's catalogue (:func:`star_id`)."""
        return star_id(self.mission, self.tic)

    @property
    def stitched(self) -> bool:
        """Whether this light curve joins several observations of the star (:func:`stitch`)."""
        return self.sector == STITCHED_SECTOR


@dataclass(frozen=True)
class LightCurve:
    """A single-sector light curve.

    ``time`` is BTJD (BJD - 2457000, days). ``flux`` and ``flux_err`` are in the units
    the source gave (electrons/s for SPOC PDCSAP); call :meth:`normalized` for relative
    flux. Centroids are in pixels, ``background`` in the flux units, ``quality`` holds
    the mission's bit flags. Missing columns are NaN (quality: 0).
    """

    time: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray
    centroid_col: np.ndarray
    centroid_row: np.ndarray
    background: np.ndarray
    quality: np.ndarray
    meta: LightCurveMeta = field(compare=False)

    def __post_init__(self) -> None:
        n = len(self.time)
        for name in ARRAY_FIELDS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"{self.meta.source_file or self.meta.key}: column {name} has "
                                 f"{len(getattr(self, name))} values, time has {n}")

    @classmethod
    def from_arrays(cls, meta: LightCurveMeta, time, flux, flux_err=None, centroid_col=None,
                    centroid_row=None, background=None, quality=None) -> LightCurve:
        """Build a light curve, filling absent columns (NaN, or 0 for quality)."""
        time = np.asarray(time, dtype=np.float64)
        nan = np.full(len(time), np.nan, dtype=np.float32)

        def column(values) -> np.ndarray:
            if values is None:
                return nan.copy()
            with np.errstate(over="ignore", invalid="ignore"):  # out of float32 range: inf
                return np.asarray(values, dtype=np.float32)

        return cls(
            time=time,
            flux=column(flux),
            flux_err=column(flux_err),
            centroid_col=column(centroid_col),
            centroid_row=column(centroid_row),
            background=column(background),
            quality=np.zeros(len(time), np.int32) if quality is None
            else np.asarray(quality, dtype=np.int32),
            meta=meta,
        )

    @classmethod
    def from_lightkurve(cls, lk_lc, tic: int | None = None,
                        sector: int | None = None) -> LightCurve:
        """A ``lightkurve.LightCurve`` as a LightCurve (see
        :func:`transitflow.interop.from_lightkurve`)."""
        return _interop().from_lightkurve(lk_lc, tic, sector)

    def to_lightkurve(self):
        """This light curve as a ``lightkurve.LightCurve`` (see
        :func:`transitflow.interop.to_lightkurve`)."""
        return _interop().to_lightkurve(self)

    def __len__(self) -> int:
        return len(self.time)

    def select(self, mask: np.ndarray) -> LightCurve:
        """The cadences where ``mask`` is true."""
        return replace(self, **{name: getattr(self, name)[mask] for name in ARRAY_FIELDS})

    def good(self, bitmask: int = DEFAULT_QUALITY_BITMASK) -> LightCurve:
        """Drop flagged cadences and cadences with non-finite time or flux."""
        keep = ((self.quality & bitmask) == 0) & np.isfinite(self.time) & np.isfinite(self.flux)
        return self.select(keep)

    def inverted(self, bitmask: int = DEFAULT_QUALITY_BITMASK) -> LightCurve:
        """Flux mirrored about the median of the good cadences: dips become bumps, so a
        search of it finds only what noise and systematics make (a null)."""
        level = float(np.median(self.good(bitmask).flux))
        return replace(self, flux=(2.0 * level - self.flux).astype(np.float32))

    def scrambled(self, rng: np.random.Generator, block_days: float, gap_days: float
                  ) -> LightCurve:
        """The cadences cut into blocks of ``block_days`` and laid out again in a random
        order, ``gap_days`` apart (a gap the detrending breaks at, so no block edge makes a
        step): a transit stays a dip, but its repeats no longer fall on one period (the
        Kepler DR25 scrambled null, in blocks of days rather than quarters)."""
        lc = self.select(np.isfinite(self.time))
        block = np.floor((lc.time - lc.time.min()) / block_days).astype(np.int64)
        blocks = np.unique(block)
        order = rng.permutation(blocks)
        if len(blocks) > 1 and np.array_equal(order, blocks):
            order = order[::-1]
        times, rows, start = [], [], float(lc.time.min())
        for number in order:
            rows.append(np.flatnonzero(block == number))
            offset = lc.time[rows[-1]] - lc.time[rows[-1][0]]
            times.append(start + offset)
            start += float(offset[-1]) + gap_days
        scrambled = lc.select(np.concatenate(rows))
        return replace(scrambled, time=np.concatenate(times).astype(lc.time.dtype))

    def normalized(self) -> LightCurve:
        """Flux and flux_err divided by the median flux."""
        median = np.nanmedian(self.flux)
        if not np.isfinite(median) or median == 0:
            raise ValueError(f"{self.meta.source_file or self.meta.key}: cannot normalise, "
                             f"median flux is {median}")
        return replace(self, flux=self.flux / median, flux_err=self.flux_err / median)


def stitch(observations: Sequence[LightCurve]) -> LightCurve:
    """All observations of one star (sectors, campaigns or quarters) as one light curve, so
    that a search links transits across them: each normalised by its own median flux (its
    background too), its centroids taken about their own median (the star falls on other
    pixels each sector), then joined in time order. Metadata come from the first
    observation; the sector is :data:`STITCHED_SECTOR` and the cadence the shortest."""
    if len({(lc.meta.mission, lc.meta.tic) for lc in observations}) != 1 or len(observations) < 2:
        raise ValueError("stitch needs two or more observations of one star")
    parts = [_relative(lc) for lc in sorted(observations, key=lambda lc: lc.time[0])]
    joined = {name: np.concatenate([getattr(lc, name) for lc in parts]) for name in ARRAY_FIELDS}
    first = parts[0].meta
    meta = replace(first, sector=STITCHED_SECTOR,
                   cadence_min=min(lc.meta.cadence_min for lc in parts),
                   source_file="; ".join(dict.fromkeys(lc.meta.source_file for lc in parts)))
    order = np.argsort(joined["time"], kind="stable")
    return LightCurve(**{name: values[order] for name, values in joined.items()}, meta=meta)


def _interop():
    """The lightkurve conversions, loaded on first use only (as ``transitflow.search``):
    they are for notebooks, and the stages' environments need not hold lightkurve."""
    return import_module("transitflow.interop")


def _relative(lc: LightCurve) -> LightCurve:
    """Flux, its error and background over the median flux; centroids about their median."""
    median = float(np.nanmedian(lc.flux))
    return replace(lc.normalized(), background=lc.background / median,
                   centroid_col=_about_median(lc.centroid_col),
                   centroid_row=_about_median(lc.centroid_row))


def _about_median(values: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    return values - np.median(finite) if len(finite) else values

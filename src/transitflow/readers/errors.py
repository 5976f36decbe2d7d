"""What a reader refuses, in one line naming the file, and the checks every light curve passes."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from astropy.io.fits.verify import VerifyError
from astropy.utils.exceptions import AstropyWarning

from transitflow.lightcurve import LightCurve


log = logging.getLogger(__name__)
#: Days; Kepler (BTJD ~ -2100) to TESS into the 2030s, below BJD - 2450000 of TESS data (8,300+).
BTJD_RANGE = (-3000.0, 8000.0)
MAX_FLUX_LEVEL = 1e15  # e-/s; far above any star, far below float32 overflow of its square


class LightCurveReadError(ValueError):
    """A light-curve file that cannot be read; ``str()`` is one line naming the file."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(" ".join(f"{path}: {problem}".split()))


class PartlyRead(LightCurveReadError):
    """A file some of whose light curves (sectors) could not be read: ``light_curves`` holds
    the others, ``problems`` the key and error of each that failed; ``str()`` names the file
    and the first problem."""

    def __init__(self, path: str | Path, light_curves: list[LightCurve],
                 problems: list[tuple[str, LightCurveReadError]]) -> None:
        key, first = problems[0][0], str(problems[0][1]).removeprefix(f"{path}: ")
        super().__init__(path, f"{len(problems)} of its {len(problems) + len(light_curves)} "
                               f"light curves unreadable, e.g. {key}: {first}"
                               + ("; the others were read" if light_curves else ""))
        self.light_curves = light_curves
        self.problems = problems  # (key, error) of each light curve that failed


@contextmanager
def read_errors(path: Path, what: str) -> Iterator[None]:
    """Turn every failure inside into a one-line :class:`LightCurveReadError`.

    Silences astropy's warnings about non-standard header cards, which it repairs.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            yield
    except LightCurveReadError:
        raise
    except VerifyError as error:  # astropy names the card and suggests a repair we do not make
        card = re.search(r"card \((\w+)\)", str(error))
        raise LightCurveReadError(path, f"the FITS card {card.group(1) if card else '?'} cannot "
                                        "be parsed; the header is corrupt") from error
    except Exception as error:  # the contract: every failure is a LightCurveReadError
        raise LightCurveReadError(path, f"cannot read as {what} ({type(error).__name__}: "
                                        f"{error}); is the file complete and valid?") from error


def checked(path: Path, lc: LightCurve) -> LightCurve:
    """Sanity at the door: cadences sorted by time, a repeated time dropped (the first kept),
    infinite flux treated as missing; times that are no mission's BTJD and flux levels
    that are not a positive photometric flux refused."""
    if len(lc) == 0:
        raise LightCurveReadError(path, "no cadence has a finite time")
    order = np.argsort(lc.time, kind="stable")
    first = np.append(True, np.diff(lc.time[order]) > 0)
    if not first.all():
        log.warning("%s: dropped %d cadences repeating an earlier time", path, (~first).sum())
    lc = lc.select(order[first])
    lc = replace(lc, flux=np.where(np.isinf(lc.flux), np.nan, lc.flux).astype(lc.flux.dtype))
    if lc.time[0] < BTJD_RANGE[0] or lc.time[-1] > BTJD_RANGE[1]:
        raise LightCurveReadError(path, f"times {lc.time[0]:.6g} to {lc.time[-1]:.6g} are not "
                                  "BTJD of any TESS, K2 or Kepler data; check the time "
                                  "column's units (BTJD = BJD - 2457000, so BJD - 2450000 "
                                  "needs 7000 subtracted) or the BJDREFI/BJDREFF keywords")
    flux = lc.flux[np.isfinite(lc.flux)]
    where = f"sector {lc.meta.sector}"
    if not len(flux):
        raise LightCurveReadError(path, f"{where}: flux is NaN everywhere")
    level = float(np.median(flux))
    if not 0 < level < MAX_FLUX_LEVEL:
        raise LightCurveReadError(path, f"{where}: median flux {level:.6g} is not a photometric "
                                  f"flux (must be positive and below {MAX_FLUX_LEVEL:g})")
    if len(flux) > 1 and flux.min() == flux.max():
        raise LightCurveReadError(path, f"{where}: flux is constant ({level:.6g}), nothing to "
                                  "measure")
    return lc


def median_step_min(time: np.ndarray) -> float:
    return float(np.median(np.diff(time))) * 1440.0 if len(time) > 1 else float("nan")


def first_present(names: Collection[str], candidates: tuple[str, ...]) -> str | None:
    return next((name for name in candidates if name in names), None)

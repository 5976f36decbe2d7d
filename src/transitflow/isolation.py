"""Per-light-curve isolation: one bad light curve becomes a ledger row, the shard goes on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

import pandas as pd

from transitflow.lightcurve import LightCurve

log = logging.getLogger(__name__)
Result = TypeVar("Result")

#: The columns of a stage's table of failed light curves.
FAILURE_COLUMNS = ("key", "source_file", "stage", "reason")
#: More than this share of a shard's light curves failing fails the job: something is wrong
#: beyond single bad files.
MAX_FAILED_FRACTION = 0.5


def each_light_curve(light_curves: Iterable[LightCurve], work: Callable[[LightCurve], Result],
                     stage: str) -> tuple[list[Result], pd.DataFrame]:
    """``work`` on every light curve; one that raises becomes a row of the failure table.

    Returns
    -------
    results : list
        ``work``'s result for each light curve that did not fail, in order.
    failures : pandas.DataFrame
        :data:`FAILURE_COLUMNS`: the light curve, its file, the stage and a one-line reason.

    Raises
    ------
    RuntimeError
        When more than :data:`MAX_FAILED_FRACTION` of the light curves fail.
    """
    results, failures, count = [], [], 0
    for lc in light_curves:
        count += 1
        result, failure = attempt(lc, work, stage)
        if failure is None:
            results.append(result)
        else:
            failures.append(failure)
    if len(failures) > MAX_FAILED_FRACTION * count:
        raise RuntimeError(f"{stage}: {len(failures)} of {count} light curves failed, more than "
                           f"{MAX_FAILED_FRACTION:.0%}; the first: {failures[0][0]} "
                           f"({failures[0][1]}): {failures[0][3]}")
    return results, failure_table(failures)


def attempt(lc: LightCurve, work: Callable[[LightCurve], Result],
            stage: str) -> tuple[Result | None, tuple | None]:
    """``(work(lc), None)``, or ``(None, failure row)`` when it raises (logged)."""
    try:
        return work(lc), None
    except Exception as error:  # any failure of one light curve is that light curve's
        reason = " ".join(f"{type(error).__name__}: {error}".split())
        log.warning("%s: %s (%s) failed: %s", stage, lc.meta.key, lc.meta.source_file, reason)
        return None, (lc.meta.key, lc.meta.source_file, stage, reason)


def failure_table(failures: Iterable[tuple]) -> pd.DataFrame:
    """Failure rows (from :func:`attempt`) as a table of :data:`FAILURE_COLUMNS`."""
    return pd.DataFrame(list(failures), columns=list(FAILURE_COLUMNS))

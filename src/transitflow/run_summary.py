"""What a finished run says on the console: its candidates and report, and what needs the
user's attention (the flag job's warning, quarantined inputs), which the jobs write only to
their logs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from transitflow.readers.fitsfile import NOT_A_LIGHT_CURVE
from transitflow.signals import DISPOSITIONS

#: Quarantined inputs whose reasons the summary prints (the rest are in the file), light
#: curves that could not be read before files that are none.
QUARANTINE_SHOWN = 3


def run_summary(run: str | Path) -> list[str]:
    """Lines on the run in folder ``run``, from the outputs it has (none: no lines)."""
    run = Path(run)
    return [*_candidates(run), *_flag_warning(run), *_quarantined(run)]


def _candidates(run: Path) -> list[str]:
    table = run / "candidates.parquet"
    if not table.exists():
        return []
    counts = pd.read_parquet(table, columns=["disposition"])["disposition"].value_counts()
    shares = ", ".join(f"{counts[name]} {name}" for name in DISPOSITIONS if name in counts)
    return [f"{run / 'candidates.csv'}: {counts.sum()} candidates ({shares or 'none'}); "
            f"report: {run / 'report' / 'index.html'}"]


def _flag_warning(run: Path) -> list[str]:
    summary = run / "infer" / "flag_summary.json"
    warning = json.loads(summary.read_text()).get("warning") if summary.exists() else ""
    return [f"warning: {warning}"] if warning else []


def _quarantined(run: Path) -> list[str]:
    listing = run / "data" / "quarantine.csv"
    reasons = pd.read_csv(listing)["reason"] if listing.exists() else pd.Series(dtype=str)
    if reasons.empty:
        return []
    reasons = reasons.sort_values(key=lambda text: text.str.contains(NOT_A_LIGHT_CURVE),
                                  kind="stable")
    more = len(reasons) - QUARANTINE_SHOWN
    return [f"{len(reasons)} input{'s' if len(reasons) > 1 else ''} quarantined, listed in "
            f"{listing}:", *(f"  {reason}" for reason in reasons[:QUARANTINE_SHOWN]),
            *([f"  ... and {more} more"] if more > 0 else [])]

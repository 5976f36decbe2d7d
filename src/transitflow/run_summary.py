"""What a finished run says on the console: its candidates and report, and what needs the
user's attention (the flag job's warning, quarantined inputs, outputs that other code
made), which the jobs write only to their logs or provenance."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from transitflow.provenance import source_digest
from transitflow.readers.fitsfile import NOT_A_LIGHT_CURVE
from transitflow.signals import DISPOSITIONS
from transitflow.tables import read_provenance

#: Quarantined inputs whose reasons the summary prints (the rest are in the file), light
#: curves that could not be read before files that are none.
QUARANTINE_SHOWN = 3


def run_summary(run: str | Path) -> list[str]:
    """Lines on the run in folder ``run``, from the outputs it has (none: no lines)."""
    run = Path(run)
    return [*_candidates(run), *_flag_warning(run), *_quarantined(run), *_other_code(run)]


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


def _other_code(run: Path) -> list[str]:
    """A warning when outputs of the run were made by library code other than this
    (another source digest), counted per folder: Snakemake reruns a job when its inputs,
    parameters or rule change, not when the library does, so an updated install keeps the
    older outputs. Outputs that the config no longer makes are counted too (stale shards,
    a model passed instead of trained): ``--forceall`` does not remake those."""
    digest = source_digest()
    made_by = {path: version for path in sorted(run.rglob("*"))
               if path.suffix in (".parquet", ".json") and not path.name.startswith(".")
               and (version := _other_code_version(path, digest))}
    if not made_by:
        return []
    folders = Counter(str(path.parent.relative_to(run)) for path in made_by)
    path, version = next(iter(made_by.items()))
    plural = "s were" if len(made_by) > 1 else " was"
    return [f"warning: {len(made_by)} output{plural} made by other code than this ("
            f"{', '.join(f'{folder}: {n}' for folder, n in folders.items())}; e.g. "
            f"{path.relative_to(run)} by transitflow {version}): `snakemake --forceall` "
            f"remakes the run with this code; delete those the config no longer makes"]


def _other_code_version(path: Path, digest: str) -> str:
    """The code version that made ``path`` when its library sources were not ``digest``;
    "" when they were, when the file holds no provenance, or when its provenance predates
    the source digest."""
    try:
        provenance = dict(read_provenance(path))
    except (KeyError, TypeError, ValueError, OSError):  # not a stage output
        return ""
    return "" if provenance.get("source_digest", digest) == digest else str(
        provenance.get("code_version", "of unknown version"))

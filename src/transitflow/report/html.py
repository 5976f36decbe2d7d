"""The self-contained HTML report: summary, funnel, candidate table, sheets and figures."""

from __future__ import annotations

import base64
import mimetypes
import os
import shutil
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from transitflow.report.assets import CSS, FILTER_JS, SORT_JS
from transitflow.report.candidates import PC_RADIUS_NOTE, light_curve_keys
from transitflow.report.truth import LIKE_FOR_LIKE, MIN_COMPARED
from transitflow.signals import DISPOSITIONS, snr_bin_label
from transitflow.tables import atomic_output


#: The candidate table in the HTML report: column, header, format.
TABLE_COLUMNS = (("key", "signal", "{}"), ("split", "split", "{}"), ("sectors", "sectors", "{}"),
                 ("disposition", "disposition", "{}"), ("score", "score", "{:.3f}"),
                 ("detected_by", "raised by", "{}"),
                 ("period", "P [d]", "{:.5f}"), ("depth_ppm", "depth [ppm]", "{:.0f}"),
                 ("duration_h", "dur [h]", "{:.2f}"), ("snr", "SNR", "{:.1f}"),
                 ("sde", "SDE", "{:.1f}"), ("n_transits", "transits", "{}"),
                 ("radius_earth", "Rp [R⊕]", "{:.2f}"), ("tmag", "Tmag", "{:.2f}"),
                 ("toi_match", "TOI", "{}"), ("flags", "flags", "{}"), ("reasons", "reasons", "{}"))


def bundle_sheets(sheet_paths: dict[str, Path], folder: str | Path) -> dict[str, Path]:
    """Put the vetting sheets in ``folder`` beside the report (hard links where the file
    system allows, else copies), so that the report's folder holds everything it links to.
    Returns signal key -> the sheet's path in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bundled = {}
    for key, path in sheet_paths.items():
        target = folder / Path(path).name
        target.unlink(missing_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
        bundled[key] = target
    return bundled


def write_report(candidates: pd.DataFrame, out_html: str | Path, run_info: dict,
                 sheet_paths: dict[str, Path], figures: dict[str, Path],
                 ledger_summary: dict[str, dict[str, int]],
                 recovery: dict[str, dict[str, int]] | None = None,
                 recall: dict[str, dict[str, float]] | None = None,
                 completeness: dict | None = None) -> Path:
    """Write the run's report as one HTML file that needs nothing from the web.

    Parameters
    ----------
    candidates
        The table from :func:`~transitflow.report.candidates.build_candidates`.
    out_html
        Where to write the page.
    run_info
        Shown in order as a key/value table (run name, code version, source digest, counts).
    sheet_paths
        Signal key -> vetting-sheet PNG, linked (relative path) from the candidate rows; a
        sector holds hundreds of sheets, too many to embed.
    figures
        Title -> PNG (training curves, ...), embedded in order.
    ledger_summary
        Stage -> {count name -> number}, e.g. ``{"data": {"read": 10, "quarantined": 1}}``.
    recovery
        For simulated data, :func:`~transitflow.report.truth.truth_recovery`'s table; shown when given.
    recall
        For simulated data, :func:`~transitflow.report.truth.planet_recall`'s shares; shown when given.
    completeness
        The run's injection-recovery summary (:func:`transitflow.completeness.summary`),
        with ``reliability`` (:func:`~transitflow.report.truth.reliability`) when known;
        shown when given.

    Returns
    -------
    Path
        ``out_html``: figures inlined as base64 data URIs, inline CSS and a sortable table,
        no timestamps, so equal inputs give equal bytes.
    """
    out_html = Path(out_html)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    title = escape(f"transitflow report: {run_info.get('run', '')}")
    sheet_links = {key: Path(os.path.relpath(path, out_html.parent)).as_posix()
                   for key, path in sheet_paths.items()}
    sections = (
        ("summary", "Summary",
         _key_value_table(_summary(candidates, ledger_summary, completeness))),
        ("funnel", "From light curves to planet candidates",
         _ledger_table(_funnel(candidates, ledger_summary), "step")),
        ("run", "Run", _key_value_table(run_info)),
        ("stages", "Stages in detail", _ledger_table(ledger_summary, "stage")),
        ("dispositions", "Candidates per disposition",
         _key_value_table(_disposition_counts(candidates))),
        ("recovery", "Simulated truth: planted signals recovered",
         _ledger_table(recovery, "simulated class") if recovery else ""),
        ("recall", "Simulated truth: planets recovered as PC (expected SNR >= 10)",
         _ledger_table({name: {"n": v["n"], "fraction": f"{v['fraction']:.3f}"}
                        for name, v in recall.items()}, "group") if recall else ""),
        ("completeness", "Completeness: injected transits flagged, found and found as PC "
         "(stars outside the training split)",
         _completeness_table(completeness) if completeness else ""),
        ("candidates", f"Candidates ({len(candidates)})",
         _candidate_table(candidates, sheet_links)),
        ("figures", "Figures: " + ", ".join(figures) if figures else "Figures",
         "\n".join(_figure(escape(name), path) for name, path in figures.items())),
    )
    shown = [(anchor, heading, content) for anchor, heading, content in sections
             if content or anchor == "figures"]
    nav = " | ".join(f'<a href="#{anchor}">{anchor}</a>' for anchor, _, _ in shown)
    body = "\n".join((f"<h1>{title}</h1>", f"<nav>{nav}</nav>",
                      *(_section(*section) for section in shown)))
    html = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
            f"{body}\n<script>\n{SORT_JS}\n{FILTER_JS}\n</script>\n</body>\n</html>\n")
    with atomic_output(out_html) as partial:
        partial.write_text(html, encoding="utf-8")
    return out_html


def _section(anchor: str, heading: str, content: str) -> str:
    return f'<section id="{anchor}">\n<h2>{escape(heading)}</h2>\n{content}\n</section>'


def _key_value_table(items: dict) -> str:
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>\n"
                   for k, v in items.items())
    return f"<table>\n{rows}</table>"


def _ledger_table(summary: dict[str, dict[str, int]], row_heading: str) -> str:
    names = list(dict.fromkeys(name for counts in summary.values() for name in counts))
    head = "".join(f"<th>{escape(str(name))}</th>" for name in [row_heading, *names])
    rows = "".join(f"<tr><th>{escape(str(stage))}</th>"
                   + "".join(f'<td class="number">{escape(str(counts.get(n, "")))}</td>'
                             for n in names) + "</tr>\n"
                   for stage, counts in summary.items())
    return f"<table>\n<tr>{head}</tr>\n{rows}</table>"


def _summary(candidates: pd.DataFrame, ledger_summary: dict[str, dict[str, int]],
             completeness: dict | None) -> dict[str, str]:
    """The first questions: what was read and searched, what was found, how many of the PCs
    are expected to be false and what share of planets of a size the run finds."""
    read = ledger_summary.get("light curves", {})
    searched = ledger_summary.get("batched search", {}).get("searched")
    counts = _disposition_counts(candidates)
    items = {"light curves read": read.get("ok", 0),
             "inputs quarantined or failed": read.get("quarantined", 0) + read.get("failed", 0)}
    if read.get("stitched"):
        items["stars searched with their sectors joined"] = read["stitched"]
    items |= {"light curves searched (batched search)": "n/a" if searched is None else searched,
              "light curves searched in depth": ledger_summary.get("in-depth search", {}).get(
                  "flagged", 0),
              "candidates": ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "none"}
    filtered = int(candidates["reasons"].fillna("").str.contains(PC_RADIUS_NOTE).sum())
    if filtered:
        items["PCs made EB by the size limit (report.pc_max_radius_rjup)"] = filtered
    measured = (completeness or {}).get("reliability") or {}
    if measured:
        items["expected false PCs (inverted and scrambled light curves)"] = (
            f"{measured['expected_false_pcs']:.1f} ± {measured['expected_false_pcs_error']:.1f}")
    for row in (completeness or {}).get("by_radius", []):
        if row["n"]:
            items[f"found as PC, {row['radius_low']:g}-{row['radius_high']:g} R_earth"] = (
                f"{row['PC']:.2f} of {row['n']} injected")
    return items


def _funnel(candidates: pd.DataFrame, ledger_summary: dict[str, dict[str, int]]
            ) -> dict[str, dict[str, int]]:
    """Light curves left after each step, and those that failed there (failed, quarantined
    or duplicate inputs; those a step does not pass on are the difference of the counts)."""
    read = ledger_summary.get("light curves", {})
    scoring = ledger_summary.get("scoring", {})
    batched = ledger_summary.get("batched search", {})
    in_depth = ledger_summary.get("in-depth search", {})
    vetting = ledger_summary.get("vetting", {})
    with_signal = light_curve_keys(candidates).nunique()
    with_pc = light_curve_keys(candidates[candidates["disposition"] == "PC"]).nunique()
    inputs, ok, stitched = _inputs(read), read.get("ok", 0), read.get("stitched", 0)
    steps = {"inputs": (inputs, 0), "read": (ok, inputs - ok)}
    if stitched:
        steps["read, and the sectors of a star joined"] = (ok + stitched, 0)
    searched = ("searched (batched, each sector's light curve; joined ones searched in depth "
                "when one of their sectors is raised)" if stitched
                else "searched (batched, every light curve)")
    steps |= {"scored by the network": (scoring.get("scored", 0), scoring.get("failed", 0)),
              searched: (batched.get("searched", 0), batched.get("failed", 0)),
              "raised for the in-depth search": (in_depth.get("flagged", 0), 0),
              "searched in depth, vetted, with a signal": (
                  with_signal, in_depth.get("failed", 0) + vetting.get("light curves failed", 0)),
              "with a PC": (with_pc, 0)}
    return {step: {"light curves": n, "failed here": lost} for step, (n, lost) in steps.items()}


def _inputs(read: dict[str, int]) -> int:
    """The inputs of the data ledger's counts: all but the light curves of joined sectors."""
    return sum(n for status, n in read.items() if status != "stitched")


def _completeness_table(completeness: dict) -> str:
    """The shares per SNR bin; for simulated data also the injections against the planted
    planets."""
    rows = {_snr_bin(row): {name: _shown(row[column]) for column, name in
                            (("n", "injections"), ("flagged", "flagged"), ("found", "found"),
                             ("PC", "PC"))}
            for row in completeness["by_snr"]}
    return (_ledger_table(rows, "expected SNR") + _against_truth_table(completeness)
            + _reliability_table(completeness))


def _against_truth_table(completeness: dict) -> str:
    """For simulated data: per SNR bin, the injections found as PC beside the planted planets
    recovered as PC, like for like
    (:func:`transitflow.report.truth.injections_against_truth`)."""
    bins = completeness.get("against truth")
    if not bins:
        return ""
    rows = {_snr_bin(row): {
        **{name: _shown(row[name]) for name in ("injections", "injected, as PC",
                                                "planted planets", "planted, as PC")},
        "difference, points": _shown(row["difference"] * 100 if row["difference"] is not None
                                     else None, "+.1f"),
        "compared": "yes" if row["compared"] else ""} for row in bins}
    compared = [row for row in bins if row["compared"]]
    verdict = (f"largest difference in the bins with {MIN_COMPARED} or more of each: "
               f"{max(abs(row['difference']) for row in compared) * 100:.1f} points"
               if compared else f"no bin holds {MIN_COMPARED} or more of each")
    return ("\n<h3>Injections against the planted planets (simulated data)</h3>\n"
            f"<p>Like for like, on the stars the network did not train on: {LIKE_FOR_LIKE}; "
            f"{verdict}.</p>\n" + _ledger_table(rows, "expected SNR"))


def _snr_bin(row: dict) -> str:
    return snr_bin_label(row["snr_low"])


def _shown(value, decimals: str = ".3f") -> str:
    """A table value: floats (shares) to three decimals, nothing for a missing one."""
    return "" if value is None or pd.isna(value) else (
        format(value, decimals) if isinstance(value, float) else str(value))


def _reliability_table(completeness: dict) -> str:
    """The null copies' outcome and the reliability they imply, when measured."""
    nulls, measured = completeness.get("nulls", {}), completeness.get("reliability", {})
    if not any(kind["copies"] for kind in nulls.values()):
        return ""
    items = {}
    for kind, counts in nulls.items():
        items[f"{kind} light curves (nulls): followed / excluded / failed"] = (
            f"{counts['copies'] - counts['excluded'] - counts['failed']} / "
            f"{counts['excluded']} / {counts['failed']}")
        items[f"{kind}: flagged / with a signal / with a PC"] = (
            f"{counts['flagged']} / {counts['with_signal']} / {counts['with_pc']}")
    if measured:
        items["expected false PCs in this run"] = (
            f"{measured['expected_false_pcs']:.1f} ± {measured['expected_false_pcs_error']:.1f}")
        items["reliability of the PC list"] = (
            f"{measured['reliability']:.3f} ± {measured['reliability_error']:.3f}")
    return ("\n<h3>Reliability (inverted and scrambled light curves)</h3>\n"
            + _key_value_table(items))


def _disposition_counts(candidates: pd.DataFrame) -> dict[str, int]:
    counts = candidates["disposition"].value_counts()
    extra = sorted(set(counts.index) - set(DISPOSITIONS))
    return {name: int(counts.get(name, 0)) for name in [*DISPOSITIONS, *extra]}


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def _figure(caption_html: str, path: Path) -> str:
    """An embedded image; ``caption_html`` must already be escaped."""
    return (f'<figure><img alt="" src="{_data_uri(path)}">'
            f"<figcaption>{caption_html}</figcaption></figure>")


def _cell(value, fmt: str, css: str = "") -> str:
    """A table cell: formatted and escaped text, numbers right-aligned with a sort value."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        text = fmt.format(value) if np.isfinite(value) else ""
        return f'<td class="number {css}" data-v="{float(value)!r}">{escape(text)}</td>'
    return f'<td class="{css}">{escape("" if value is None else str(value))}</td>'


def _display_frame(candidates: pd.DataFrame) -> pd.DataFrame:
    """The candidate columns shown in the report, with the flagged tests and TOI joined up."""
    flag_columns = [c for c in candidates.columns if c.endswith("_flag")]
    tests = [c[:-len("_flag")] for c in flag_columns]
    flags = [", ".join(t for t, flag in zip(tests, row) if flag)
             for row in candidates[flag_columns].eq(True).to_numpy()]
    toi = [f" (TOI {t:.2f}{', by position' if how == 'position' else ''})"
           if np.isfinite(t) else "" for t, how in zip(candidates["toi"],
                                                       candidates["toi_matched_by"])]
    return candidates.assign(flags=flags, toi_match=candidates["toi_match"] + toi)


def _candidate_table(candidates: pd.DataFrame, sheet_links: dict[str, str]) -> str:
    """The sortable, filterable candidate table: a row per candidate (its ``id`` the key),
    links to its sheets and to the other candidates of its star."""
    names = [*(column for column, _, _ in TABLE_COLUMNS), "sheet", "others"]
    labels = [*(label for _, label, _ in TABLE_COLUMNS), "sheet", "other signals of the star"]
    head = "".join(f'<th data-name="{name}">{escape(label)}</th>'
                   for name, label in zip(names, labels))
    others = _other_signals(candidates)
    rows = []
    for record in _display_frame(candidates).to_dict("records"):
        cells = "".join(_cell(record[column], fmt, column) for column, _, fmt in TABLE_COLUMNS)
        sheets = " ".join(f'<a href="{escape(sheet_links[key])}">{escape(key.split("-", 1)[1])}</a>'
                          for key in record["keys"].split(";") if key in sheet_links)
        if sheets and record["vetting_disposition"] != record["disposition"]:
            sheets += f' (vetting: {escape(str(record["vetting_disposition"]))})'
        css = escape(str(record["disposition"]))
        rows.append(f'<tr id="{escape(record["key"])}" class="{css}">{cells}<td>{sheets}</td>'
                    f'<td>{others[record["key"]]}</td></tr>')
    body = "\n".join(rows)
    return (f"{_missing_star_note(candidates)}"
            f'<input id="candidate-filter" type="search" aria-label="filter the candidates" '
            f'placeholder="filter: words, or column&lt;value, '
            f'e.g. disposition=PC snr&gt;10 period&lt;5">'
            f'<span id="candidate-count"></span>\n'
            f'<table class="sortable" id="candidate-table">\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody>\n</table>")


def _missing_star_note(candidates: pd.DataFrame) -> str:
    """A line above the table saying how many Rp and Tmag cells are empty because the
    star's radius (Rp = R* sqrt(depth)) or magnitude is unknown: neither the catalogs nor
    the light curve's file gave it."""
    def unknown(column: str) -> pd.Series:
        return candidates.get(column, pd.Series(np.nan, candidates.index)).isna()

    missing = [f"{label} empty in {count} rows ({what} unknown)"
               for count, label, what in (
                   (int((unknown("radius_earth") & unknown("star_radius")).sum()), "Rp",
                    "the star's radius"),
                   (int(unknown("tmag").sum()), "Tmag", "the star's magnitude"))
               if count]
    return f"<p>{'; '.join(missing)}.</p>\n" if missing else ""


def _other_signals(candidates: pd.DataFrame) -> dict[str, str]:
    """Per candidate key, links to the other candidates of its star, with their period and
    disposition."""
    links: dict[str, str] = {}
    for _, star in candidates.groupby("tic", sort=False):
        entries = [(key, f'<a href="#{escape(key)}">{escape(_short_label(row))}</a>')
                   for key, row in zip(star["key"], star.to_dict("records"))]
        for key in star["key"]:
            links[key] = " ".join(link for other, link in entries if other != key)
    return links


def _short_label(candidate: dict) -> str:
    """``P=3.21 d PC`` (``single PC`` for a single transit)."""
    period = candidate["period"]
    shown = f"P={period:.2f} d" if np.isfinite(period) else "single"
    return f"{shown} {candidate['disposition']}"

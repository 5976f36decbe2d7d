"""The ``transitflow`` command: one subcommand per pipeline stage, called by the rules.

Each subcommand reads its inputs, calls the stage's library functions and writes its
outputs with provenance. Stage options arrive as one JSON object (``--options``), the
stage's section of the workflow config.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from errno import ENOSPC
from pathlib import Path

import pandas as pd

from transitflow.isolation import each_light_curve, failure_table
from transitflow.provenance import make_provenance
from transitflow.tables import atomic_output, read_table, write_json, write_table

log = logging.getLogger("transitflow")
LOST = ("quarantined", "failed")  # data ledger states of inputs that gave no light curve


def _options(text: str) -> dict:
    try:
        options = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--options is not valid JSON ({error})") from error
    if not isinstance(options, dict):
        raise ValueError("--options must be a JSON object")
    return options


def _concat(paths) -> pd.DataFrame:
    """The tables of ``paths`` as one; empty with the first table's columns if all are."""
    frames = [read_table(path) for path in paths]
    filled = [frame for frame in frames if not frame.empty]
    if filled:
        return pd.concat(filled, ignore_index=True)
    return frames[0] if frames else pd.DataFrame()


def cmd_mast_list(args) -> None:
    """List the light curves to fetch from MAST and cut the listing into download shards."""
    from transitflow.mast import AstroqueryClient, MastConfig, list_sector, plan_shards

    config = MastConfig.from_dict(args.options)
    with AstroqueryClient.from_config(config) as client:
        listing = list_sector(config, client)
    if listing.empty:
        raise ValueError(f"MAST lists no {config.product} light curves in sectors "
                         f"{config.sectors}{' for the targets' if config.targets else ''}; "
                         "check mast: sectors, product and targets")
    targets_file = [config.targets] if isinstance(config.targets, str) else []
    provenance = make_provenance("mast-list", args.options, targets_file)
    write_table(listing, args.out, provenance)
    Path(args.shards_dir).mkdir(parents=True, exist_ok=True)
    shards = plan_shards(listing, args.shard_size)
    for number, shard in enumerate(shards):
        write_table(shard, Path(args.shards_dir) / f"{number:04d}.parquet", provenance)
    log.info("%d light curves listed in sectors %s, %d download shards", len(listing),
             config.sectors, len(shards))


def cmd_mast_download(args) -> None:
    """Download one listing shard into the cache; its ledger says what happened to each."""
    from transitflow.mast import AstroqueryClient, MastConfig, download

    config = MastConfig.from_dict(args.options)
    with AstroqueryClient.from_config(config) as client:
        ledger = download(read_table(args.listing), config, client)
    write_table(ledger, args.ledger, make_provenance("mast-download", args.options,
                                                     [args.listing]))
    log.info("%s", ledger["status"].value_counts().to_dict())


def cmd_fetch_catalog(args) -> None:
    """Download a catalog named by URL in the config."""
    from transitflow.catalogs import fetch_catalog

    log.info("%s: %d bytes from %s", args.out, fetch_catalog(args.url, args.out), args.url)


def _ingest(args):
    """The light curves of one data job, from the simulator, files or MAST downloads."""
    from transitflow.ingest import ingest_local, ingest_mast, ingest_sim, with_stitched
    from transitflow.mast import AstroqueryClient, MastConfig

    if args.source == "sim":
        return ingest_sim(args.options, args.start, args.stop)
    if args.source == "local":
        result = ingest_local(args.inputs)
    else:
        config = MastConfig.from_dict(args.options)
        with AstroqueryClient.from_config(config) as client:
            result = ingest_mast(read_table(args.inputs[0]), config, client)
    return with_stitched(result) if args.stitch_sectors else result


def cmd_ingest(args) -> None:
    from transitflow.shards import write_shard

    result = _ingest(args)
    provenance = make_provenance("ingest", {"source": args.source, **args.options}, args.inputs)
    write_shard(args.shard, result.light_curves, provenance)
    write_table(result.stars, args.stars, provenance)
    write_table(result.ledger, args.ledger, provenance)
    write_table(result.truth, args.truth, provenance)
    bad = result.ledger[~result.ledger.status.isin(["ok", "stitched"])]
    for row in bad.itertuples():
        log.warning("%s: %s", row.status, row.reason)
    log.info("%s: %d light curves, %d inputs not used", args.shard, len(result.light_curves),
             len(bad))


def cmd_collect(args) -> None:
    """Merge the per-shard data tables; list quarantined inputs in a CSV."""
    provenance = make_provenance("collect", {}, [*args.stars, *args.ledgers, *args.truths])
    stars, ledger = _concat(args.stars), _concat(args.ledgers)
    _refuse_repeated_keys(stars)
    write_table(stars, args.out_stars, provenance)
    write_table(ledger, args.out_ledger, provenance)
    write_table(_concat(args.truths), args.out_truth, provenance)
    lost = ledger[ledger.status.isin(LOST)] if not ledger.empty else ledger
    with atomic_output(args.out_quarantine) as partial:
        lost.to_csv(partial, index=False)
    log.info("%d light curves; %d inputs quarantined or failed (listed in %s)", len(stars),
             len(lost), args.out_quarantine)


def _refuse_repeated_keys(stars: pd.DataFrame) -> None:
    """A light curve (TIC and sector) read from two files of different shards would be
    searched twice; a shard keeps only the first of its own repeats (ledger: duplicate)."""
    repeated = stars[stars["key"].duplicated(keep=False)] if not stars.empty else stars
    if not repeated.empty:
        files = repeated.groupby("key", sort=True)["source_file"].apply(list)
        raise ValueError(f"{len(repeated)} light curves share a TIC and sector with another in "
                         f"a different shard, e.g. {files.index[0]} in "
                         f"{' and '.join(files.iloc[0])}; keep one of each (narrow local_glob) "
                         "and rerun (a key ending -s9999 joins a star's sectors: name its files "
                         "by its ID, so that one shard reads them all)")


def cmd_labels(args) -> None:
    """Training labels: the simulation's truth, or the catalogs' for real light curves."""
    from transitflow.labels import LabelConfig, build_labels, coverage_table, read_catalogs
    from transitflow.shards import iter_shard

    stars = read_table(args.stars)
    config = LabelConfig.from_dict(args.options)
    if stars["label"].notna().any():
        labels = stars.loc[stars["label"].notna(), ["key", "tic", "sector", "label"]]
        report = {"source": "simulation truth",
                  "per_class": labels["label"].value_counts().sort_index().to_dict()}
    else:
        light_curves = (lc for shard in args.shards for lc in iter_shard(shard))
        result = build_labels(*read_catalogs(config),
                              coverage_table(light_curves, config.coverage_gap_days), config)
        labels, report = result.labels, result.report
    catalogs = [path for path in (config.toi_table, config.tess_ebs, config.yu2019) if path]
    provenance = make_provenance("labels", args.options, [args.stars, *catalogs])
    write_table(labels.reset_index(drop=True), args.out, provenance)
    write_json(report, args.report, provenance)
    log.info("%d labelled light curves: %s", len(labels),
             labels["label"].value_counts().to_dict() if len(labels) else {})


def cmd_split(args) -> None:
    from transitflow.split import SplitConfig, split_by_target, split_report, star_labels

    labels = read_table(args.labels)
    if labels.empty:
        raise ValueError(f"{args.labels}: no light curve has a training label; give label "
                         "catalogs (labels: toi_table, tess_ebs, yu2019), train on the "
                         "simulated sector (source=sim) or give a trained model (model=...)")
    split = split_by_target(star_labels(labels), SplitConfig.from_dict(args.options))
    provenance = make_provenance("split", args.options, [args.labels])
    write_table(split, args.out, provenance)
    write_json({"counts": split_report(split)}, args.report, provenance)


def cmd_train(args) -> None:
    from transitflow.train import TrainConfig, run_training

    labels = read_table(args.labels)
    split = read_table(args.split)
    config = TrainConfig.from_dict(args.options)
    provenance = make_provenance("train", args.options, [*args.shards, args.labels, args.split])
    card = run_training([Path(p) for p in args.shards], labels[["key", "tic", "label"]], split,
                        config, Path(args.out_dir), provenance)
    if int(os.environ.get("RANK", "0")) == 0:
        log.info("test metrics: %s", json.dumps(card["metrics"]["test"], default=str))


def cmd_infer(args) -> None:
    from transitflow.infer import InferConfig, score_shard

    config = InferConfig.from_dict(args.options)
    scores = score_shard(args.model, args.shard, batch_size=config.batch_size)
    write_table(scores, args.out, make_provenance("infer", args.options, [args.model, args.shard]))


def cmd_detect(args) -> None:
    """Batched search of every light curve of a shard and of its inverted copy."""
    from transitflow.detect import DetectConfig, detect_shard
    from transitflow.search import SearchConfig
    from transitflow.shards import read_shard

    options = dict(args.options)
    search = SearchConfig.from_dict(options.pop("search", {}))
    detections = detect_shard(read_shard(args.shard), search, DetectConfig.from_dict(options))
    write_table(detections, args.out, make_provenance("detect", args.options, [args.shard]))
    data = detections[detections["copy"] == "data"]
    for row in data[data.status == "failed"].itertuples():
        log.warning("not searched: %s", row.reason)
    log.info("%s: %d of %d light curves searched (and their inverted copies)", args.shard,
             int((data.status == "ok").sum()), len(data))


def cmd_flag(args) -> None:
    """Pick the light curves for the in-depth search: network scores, search detections."""
    from transitflow.detect import DetectConfig, select_for_search
    from transitflow.infer import flag_scores

    options = dict(args.options)
    config = DetectConfig.from_dict(options.pop("detect", {}))
    card = json.loads(Path(args.model_card).read_text()) if args.model_card else {}
    scores = _concat(args.scores) if args.scores else None
    detections = _concat(args.detections) if args.detections else None
    table, summary = select_for_search(
        scores, detections, lambda s: flag_scores(s, card.get("threshold"), **options), config)
    inputs = [*args.scores, *args.detections, *filter(None, [args.model_card])]
    provenance = make_provenance("flag", args.options, inputs)
    write_table(table, args.out, provenance)
    write_json(summary, args.summary, provenance)
    log.info("%d of %d light curves go on to the search (%s)", summary["flagged"], len(table),
             json.dumps({k: v for k, v in summary.items() if k != "thresholds"}, default=str))


def cmd_search(args) -> None:
    from transitflow.search import SearchConfig, search_lightcurve
    from transitflow.shards import iter_shard
    from tqdm import tqdm

    config = SearchConfig.from_dict(args.options)
    scores = read_table(args.scores)
    wanted = set(scores.loc[scores.flagged, "key"])
    found, failures = each_light_curve(
        tqdm(iter_shard(args.shard, wanted), total=None, desc="search", unit="lc"),
        lambda lc: [signal.to_row() for signal in search_lightcurve(lc, config)], "search")
    rows = [row for rows in found for row in rows]
    provenance = make_provenance("search", args.options, [args.shard, args.scores])
    write_table(pd.DataFrame(rows), args.out, provenance)
    write_table(failures, args.failed, provenance)
    log.info("%s: %d signals, %d light curves failed", args.shard, len(rows), len(failures))


def cmd_crowded_epochs(args) -> None:
    """The sector's epochs crowded with many stars' events, from every shard's signals."""
    from transitflow.vetting.skye import crowded_epochs
    from transitflow.vetting import VetConfig

    config = VetConfig.from_dict(args.options)
    epochs = crowded_epochs(_concat(args.signals), config.crowded_false_alarm)
    write_json(epochs.to_dict(), args.out, make_provenance("crowded_epochs", args.options,
                                                           args.signals))
    log.info("%d crowded half-day bins", len(epochs.windows))


def _read_crowded_epochs(path: str):
    from transitflow.vetting.skye import CrowdedEpochs

    return CrowdedEpochs.from_dict(json.loads(Path(path).read_text()))


def cmd_vet(args) -> None:
    """Vet every signal of a shard; draw a sheet for the dispositions asked for."""
    from tqdm import tqdm

    from transitflow.report import ReportConfig
    from transitflow.search import SearchConfig
    from transitflow.shards import iter_shard
    from transitflow.sheets import vet_and_draw
    from transitflow.vetting.skye import mark_crowded
    from transitflow.vetting import VetConfig

    options = dict(args.options)
    search_config = SearchConfig.from_dict(options.pop("search", {}))
    sheets_for = set(ReportConfig.from_dict(options.pop("report", {})).sheets_for)
    config = VetConfig.from_dict(options)
    signals = _signals_by_light_curve(read_table(args.signals))
    sheets_dir = Path(args.sheets_dir)
    sheets_dir.mkdir(parents=True, exist_ok=True)
    sheet_failures = []

    crowded = _read_crowded_epochs(args.crowded_epochs)

    def vet_one(lc) -> list[dict]:
        rows, failure = vet_and_draw(mark_crowded(lc, crowded), signals[lc.meta.key],
                                     search_config, config, sheets_dir, sheets_for)
        sheet_failures.extend(filter(None, [failure]))
        return rows

    vetted, failures = each_light_curve(
        tqdm(iter_shard(args.shard, signals), total=len(signals), desc="vet", unit="lc"),
        vet_one, "vet")
    rows = [row for rows in vetted for row in rows]
    provenance = make_provenance("vet", args.options,
                                 [args.shard, args.signals, args.crowded_epochs])
    write_table(pd.DataFrame(rows), args.out, provenance)
    if sheet_failures:
        failures = pd.concat([failures, failure_table(sheet_failures)], ignore_index=True)
    write_table(failures, args.failed, provenance)
    log.info("%s: vetted %d signals, %d light curves failed", args.shard, len(rows),
             len(failures))


def cmd_inject(args) -> None:
    """Injected copies of a shard's light curves, for the completeness measurement."""
    from transitflow.completeness import CompletenessConfig, inject_shard
    from transitflow.shards import read_shard, write_shard

    split = read_table(args.split) if args.split else None
    training = set(split.loc[split["split"] == "train", "tic"]) if split is not None else set()
    copies, injections = inject_shard(read_shard(args.shard), training,
                                      CompletenessConfig.from_dict(args.options),
                                      int(Path(args.shard).stem))
    provenance = make_provenance("inject", args.options, [args.shard, *filter(None, [args.split])])
    write_shard(args.out_shard, copies, provenance)
    write_table(injections, args.out, provenance)
    log.info("%s: %d injected copies", args.shard, len(copies))


def cmd_recover(args) -> None:
    """The stage each injected transit of a shard reached, through the run's chain."""
    from transitflow.completeness import recover_shard, signal_hosts
    from transitflow.detect import DetectConfig
    from transitflow.infer import InferConfig, score_shard
    from transitflow.search import SearchConfig
    from transitflow.shards import read_shard
    from transitflow.vetting.skye import mark_crowded
    from transitflow.vetting import VetConfig

    options = dict(args.options)
    injections = read_table(args.injections)
    batch_size = InferConfig.from_dict(options["infer"]).batch_size
    scores = score_shard(args.model, args.shard, batch_size=batch_size) if args.model else None
    crowded = _read_crowded_epochs(args.crowded_epochs)
    recovered = recover_shard(
        [mark_crowded(lc, crowded) for lc in read_shard(args.shard)], injections, scores,
        json.loads(Path(args.flag_summary).read_text()),
        SearchConfig.from_dict(options["search"]), DetectConfig.from_dict(options["detect"]),
        VetConfig.from_dict(options["vet"]), signal_hosts(read_table(args.vetting)))
    inputs = [args.shard, args.injections, args.flag_summary, args.vetting, args.crowded_epochs,
              *filter(None, [args.model])]
    write_table(recovered, args.out, make_provenance("recover", args.options, inputs))
    log.info("%s: %d of %d injections found as PC", args.shard,
             int((recovered["stage"] == "PC").sum()), len(recovered))


def cmd_completeness(args) -> None:
    """Merge the injections of all shards; completeness tables and their figure."""
    from transitflow.completeness import plot_completeness, summary

    injections = _concat(args.recovered)
    provenance = make_provenance("completeness", {}, args.recovered)
    write_table(injections, args.out, provenance)
    write_json(summary(injections), args.summary, provenance)
    plot_completeness(injections, args.figure)


def _signals_by_light_curve(table: pd.DataFrame) -> dict:
    """Light-curve key -> its signals, in table order."""
    from transitflow.signals import Signal

    signals: dict[str, list] = {}
    for row in table.to_dict("records"):
        signal = Signal.from_row(row)
        signals.setdefault(signal.lightcurve_key, []).append(signal)
    return signals


def cmd_report(args) -> None:
    """Candidate tables and the HTML report of the run."""
    from transitflow.labels import read_eb_ephemerides
    from transitflow.report import (ReportConfig, build_candidates, bundle_sheets,
                                    held_out_stars, planet_recall, truth_recovery,
                                    write_candidates, write_ctoi, write_report)

    inputs = [*args.vetting, *args.failed, args.scores, args.stars, args.ledger,
              args.flag_summary,
              *filter(None, [args.model_card, args.known_tois, args.known_ebs, args.truth,
                             args.split, args.completeness])]
    provenance = make_provenance("report", args.options, inputs)
    known = pd.read_csv(args.known_tois, comment="#") if args.known_tois else None
    known_ebs = read_eb_ephemerides(args.known_ebs) if args.known_ebs else None
    split = read_table(args.split) if args.split else None
    config = ReportConfig.from_dict(args.options)
    stars = read_table(args.stars)
    candidates = build_candidates(read_table(args.scores), _concat(args.vetting), stars, known,
                                  split, config.pc_max_radius_rjup, known_ebs)
    run = Path(args.out_dir).parent.name
    write_candidates(candidates, args.out_csv, args.out_parquet, provenance)
    write_ctoi(candidates, args.out_ctoi, f"transitflow {provenance['code_version']}, run {run}")
    sheets = bundle_sheets({path.stem: path for folder in args.sheets
                            for path in sorted(Path(folder).glob("*.png"))},
                           Path(args.out_dir) / "sheets")
    figures = {Path(path).stem.replace("_", " "): Path(path) for path in args.figures}
    truth = read_table(args.truth) if args.truth else pd.DataFrame()
    recovery = recall = None
    if not truth.empty:
        recovery = truth_recovery(truth, candidates)
        recall = planet_recall(truth, stars, candidates)
        if split is not None:  # the same on the stars the network never trained on
            test = held_out_stars(truth, split)
            recovery |= {f"{name} (test stars)": row
                         for name, row in truth_recovery(test, candidates).items()}
            recall |= {f"{name} (test stars)": row for name, row in planet_recall(
                test, held_out_stars(stars, split), candidates).items()}
    completeness = json.loads(Path(args.completeness).read_text()) if args.completeness else None
    if completeness:
        _with_reliability(completeness, stars, candidates)
    if completeness and not truth.empty:
        _with_truth_recall(completeness, truth, candidates, split)
    write_report(candidates, Path(args.out_dir) / "index.html", _run_info(args, run, provenance),
                 sheets, figures,
                 _ledger_summary(args), recovery, recall, completeness)
    log.info("%d candidates -> %s", len(candidates), args.out_csv)


def _with_reliability(completeness: dict, stars: pd.DataFrame, candidates: pd.DataFrame) -> None:
    """Add the expected false PCs of the run and the reliability of its PC list, both
    counted in light curves (a candidate's ``keys`` are its signals')."""
    from transitflow.report import light_curve_keys, reliability

    with_pc = light_curve_keys(candidates[candidates["disposition"] == "PC"]).nunique()
    completeness["reliability"] = reliability(completeness["nulls"], len(stars), with_pc)


def _with_truth_recall(completeness: dict, truth: pd.DataFrame, candidates: pd.DataFrame,
                       split: pd.DataFrame | None) -> None:
    """Add to each SNR bin the planted planets (of the stars the injections could use, those
    outside the training split) and their share recovered as PC."""
    from transitflow.report import truth_recall_by_snr

    if split is not None:
        truth = truth[~truth["tic"].isin(split.loc[split["split"] == "train", "tic"])]
    yardstick = truth_recall_by_snr(truth, candidates)
    for row, planted in zip(completeness["by_snr"], yardstick.to_dict("records")):
        row |= {"planted planets": planted["n"], "planted, as PC": planted["PC"]}


def _run_info(args, run: str, provenance: dict) -> dict:
    card = json.loads(Path(args.model_card).read_text()) if args.model_card else {}
    flagged = json.loads(Path(args.flag_summary).read_text())
    info = {"run": run, "code version": provenance["code_version"],
            "model": card.get("model_id", "given by the user" if flagged["scored"] else "none"),
            "model test ROC-AUC": card.get("metrics", {}).get("test", {}).get("roc_auc", "n/a"),
            "detection policy": flagged["policy"]}
    if "thresholds" in flagged:
        info["detection thresholds"] = _thresholds_text(flagged)
    return info


def _thresholds_text(summary: dict) -> str:
    """The batched search's thresholds and false alarms, in one line."""
    limits, nulls = summary["thresholds"], summary["thresholds"]["nulls"]
    measured = summary["measured_null_rate_per_10k"]
    return (f"periodic SNR > {limits['periodic_snr']:.2f} with SDE >= {limits['min_sde']:g}, "
            f"single-event SNR > {limits['single_snr']:.2f}: set on {nulls} inverted light "
            f"curves at {summary['false_alarms_per_10k']:g} false alarms per 10,000 stars per "
            f"statistic (measured {measured['periodic']:g} and {measured['single']:g}); "
            f"expected false alarms in this run: {summary['expected_false_alarms']:g}")


def _ledger_summary(args) -> dict:
    ledger = read_table(args.ledger)
    flagged = json.loads(Path(args.flag_summary).read_text())
    stages = {"light curves": ledger.status.value_counts().to_dict(),
              "scoring": {key: flagged[key] for key in ("scored", "failed")}}
    stages["scoring"]["flagged"] = flagged["flagged_network"]
    if "searched" in flagged:
        stages["batched search"] = {"searched": flagged["searched"],
                                    "failed": flagged["search_failed"],
                                    "periodic detections": flagged["detected_periodic"],
                                    "single-event detections": flagged["detected_single"]}
    failed = _concat(args.failed)
    failed_in = failed["stage"].value_counts() if not failed.empty else pd.Series(dtype=int)
    stages["in-depth search"] = {"flagged": flagged["flagged"],
                                 "failed": int(failed_in.get("search", 0))}
    stages["vetting"] = {"light curves failed": int(failed_in.get("vet", 0)),
                         "sheets failed": int(failed_in.get("sheets", 0))}
    return stages


def cmd_target(args) -> None:
    """Read, score, search and vet light-curve files: a row and a sheet per signal. Options:
    ``{"search": {...}, "vet": {...}}``, the workflow config's sections."""
    from transitflow.search import SearchConfig
    from transitflow.target import vet_targets
    from transitflow.vetting import VetConfig

    options = dict(args.options)
    search = SearchConfig.from_dict(options.pop("search", {}))
    config = VetConfig.from_dict(options.pop("vet", {}))
    if options:
        raise ValueError(f"target: unknown option {sorted(options)[0]!r}; the options are "
                         "search and vet")
    result = vet_targets(args.files, args.out, args.model, search, config)
    read = int((result.ledger["status"] == "ok").sum())
    log.info("%d of %d files read, %d signals (%s) -> %s", read, len(args.files),
             len(result.signals),
             ", ".join(f"{n} {name}" for name, n in
                       result.signals["disposition"].value_counts().items()) or "none",
             Path(args.out) / "signals.csv")


def cmd_columns(args) -> None:
    """Print the candidate columns' dictionary as Markdown (docs/candidates.md)."""
    from transitflow.columns import columns_markdown

    sys.stdout.write(columns_markdown())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="transitflow", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func, help_text):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--options", type=_options, default={},
                             help="the stage's options as a JSON object")
        command.set_defaults(func=func)
        return command

    p = add("mast-list", cmd_mast_list, "list a sector's light curves at MAST, in shards")
    p.add_argument("--shard-size", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--shards-dir", required=True)

    p = add("mast-download", cmd_mast_download, "download one listing shard from MAST")
    p.add_argument("--listing", required=True)
    p.add_argument("--ledger", required=True)

    p = add("fetch-catalog", cmd_fetch_catalog, "download a catalog named by URL")
    p.add_argument("--url", required=True)
    p.add_argument("--out", required=True)

    p = add("ingest", cmd_ingest, "simulate or read light curves into one shard")
    p.add_argument("--source", choices=("sim", "local", "mast"), required=True)
    p.add_argument("--start", type=int, default=0, help="first simulated star (sim)")
    p.add_argument("--stop", type=int, default=0, help="one past the last simulated star (sim)")
    p.add_argument("--inputs", nargs="*", default=[],
                   help="light-curve files (local) or the download ledger (mast)")
    p.add_argument("--stitch-sectors", action="store_true",
                   help="add a light curve joining each star's sectors (local, mast)")
    for name in ("shard", "stars", "ledger", "truth"):
        p.add_argument(f"--{name}", required=True)

    p = add("collect", cmd_collect, "merge the data tables of all shards")
    for name in ("stars", "ledgers", "truths"):
        p.add_argument(f"--{name}", nargs="+", required=True)
    for name in ("out-stars", "out-ledger", "out-truth", "out-quarantine"):
        p.add_argument(f"--{name}", required=True)

    p = add("labels", cmd_labels, "training labels from the simulation or the catalogs")
    p.add_argument("--stars", required=True)
    p.add_argument("--shards", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--report", required=True)

    p = add("split", cmd_split, "split targets into train/val/test")
    p.add_argument("--labels", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--report", required=True)

    p = add("train", cmd_train, "train a model")
    p.add_argument("--shards", nargs="+", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--out-dir", required=True)

    p = add("infer", cmd_infer, "score every light curve of a shard")
    p.add_argument("--model", required=True)
    p.add_argument("--shard", required=True)
    p.add_argument("--out", required=True)

    p = add("detect", cmd_detect, "batched transit search of every light curve of a shard")
    p.add_argument("--shard", required=True)
    p.add_argument("--out", required=True)

    p = add("flag", cmd_flag, "pick the light curves for the search (network, detections)")
    p.add_argument("--scores", nargs="*", default=[])
    p.add_argument("--detections", nargs="*", default=[])
    p.add_argument("--model-card", default="")
    p.add_argument("--out", required=True)
    p.add_argument("--summary", required=True)

    p = add("search", cmd_search, "search flagged light curves of a shard for transits")
    p.add_argument("--shard", required=True)
    p.add_argument("--scores", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--failed", required=True, help="table of light curves that failed")

    p = add("crowded-epochs", cmd_crowded_epochs,
            "epochs crowded with many stars' events (Skye), from every shard's signals")
    p.add_argument("--signals", nargs="+", required=True)
    p.add_argument("--out", required=True)

    p = add("vet", cmd_vet, "vet the signals of a shard and draw their sheets")
    p.add_argument("--shard", required=True)
    p.add_argument("--signals", required=True)
    p.add_argument("--crowded-epochs", required=True, help="the run's crowded epochs (JSON)")
    p.add_argument("--out", required=True)
    p.add_argument("--failed", required=True, help="table of light curves that failed")
    p.add_argument("--sheets-dir", required=True)

    p = add("inject", cmd_inject, "inject transits into copies of a shard's light curves")
    p.add_argument("--shard", required=True)
    p.add_argument("--split", default="", help="the training split, whose stars are skipped")
    p.add_argument("--out-shard", required=True)
    p.add_argument("--out", required=True, help="table of the injected transits")

    p = add("recover", cmd_recover, "follow injected transits through the run's chain")
    for name in ("shard", "injections", "flag-summary", "out"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--vetting", required=True,
                   help="the run's vetting of the shard: hosts of its PCs, EBs and BEBs")
    p.add_argument("--crowded-epochs", required=True, help="the run's crowded epochs (JSON)")
    p.add_argument("--model", default="", help="the run's model; none without a network")

    p = add("completeness", cmd_completeness, "merge the injections; completeness and figure")
    p.add_argument("--recovered", nargs="+", required=True)
    for name in ("out", "summary", "figure"):
        p.add_argument(f"--{name}", required=True)

    p = add("report", cmd_report, "candidate tables and the HTML report")
    for name in ("vetting", "sheets"):
        p.add_argument(f"--{name}", nargs="+", required=True)
    for name in ("scores", "stars", "ledger", "flag-summary", "out-csv", "out-parquet",
                 "out-ctoi", "out-dir"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--failed", nargs="*", default=[],
                   help="tables of light curves that failed in the search and vetting")
    p.add_argument("--model-card", default="")
    p.add_argument("--truth", default="")
    p.add_argument("--split", default="", help="the training split, when the run trained")
    p.add_argument("--known-tois", default="")
    p.add_argument("--known-ebs", default="", help="TESS EB catalog (tess-ebs.dat, its CDS "
                                                   "ReadMe beside it)")
    p.add_argument("--figures", nargs="*", default=[])
    p.add_argument("--completeness", default="", help="the completeness summary")

    add("columns", cmd_columns, "print the candidate columns' dictionary (Markdown)")
    p = add("target", cmd_target, "search and vet a few light-curve files, no workflow")
    p.add_argument("files", nargs="+", help="light-curve files (any format the data stage reads)")
    p.add_argument("--out", required=True, help="folder for signals.csv, ledger.csv and sheets/")
    p.add_argument("--model", help="a trained model.pt to score the light curves with")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s transitflow %(message)s")
    try:
        args.func(args)
    except (ValueError, KeyError, RuntimeError, OSError) as error:
        hint = "; free disk space and rerun" if getattr(error, "errno", None) == ENOSPC else ""
        _report_error(f"transitflow {args.command}: error: {error}{hint}")
        return 2
    return 0


def _report_error(message: str) -> None:
    """To stderr, the job's log; to stdout, which snakemake shows, when the log cannot take
    it (a full disk)."""
    for stream in (sys.stderr, sys.stdout):
        try:
            print(message, file=stream, flush=True)
            return
        except OSError:
            continue


if __name__ == "__main__":
    sys.exit(main())

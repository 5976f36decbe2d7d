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

from transitflow.provenance import make_provenance
from transitflow.tables import read_table, read_tables, write_json, write_table

log = logging.getLogger("transitflow")


def _options(text: str) -> dict:
    try:
        options = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--options is not valid JSON ({error})") from error
    if not isinstance(options, dict):
        raise ValueError("--options must be a JSON object")
    return options


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
    from transitflow.ingest import collect

    collect(args.stars, args.ledgers, args.truths, args.out_stars, args.out_ledger,
            args.out_truth, args.out_quarantine)


def cmd_labels(args) -> None:
    """Training labels: the simulation's truth, or the catalogs' for real light curves."""
    from transitflow.labels import LabelConfig, training_labels
    from transitflow.shards import iter_shard

    config = LabelConfig.from_dict(args.options)
    light_curves = (lc for shard in args.shards for lc in iter_shard(shard))
    result = training_labels(read_table(args.stars), light_curves, config)
    catalogs = [path for path in (config.toi_table, config.tess_ebs, config.yu2019) if path]
    provenance = make_provenance("labels", args.options, [args.stars, *catalogs])
    write_table(result.labels, args.out, provenance)
    write_json(result.report, args.report, provenance)
    log.info("%d labelled light curves: %s", len(result.labels),
             result.labels["label"].value_counts().to_dict() if len(result.labels) else {})


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
    from transitflow.training import TrainConfig, run_training

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
    from transitflow.searching import SearchConfig
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
    from transitflow.infer import FlagConfig, flag_scores

    options = dict(args.options)
    config = DetectConfig.from_dict(options.pop("detect", {}))
    flag = FlagConfig.from_dict(options)
    card = json.loads(Path(args.model_card).read_text()) if args.model_card else {}
    scores = read_tables(args.scores) if args.scores else None
    detections = read_tables(args.detections) if args.detections else None

    def network_rule(scored):
        return flag_scores(scored, card.get("threshold"), flag.threshold, flag.top_k)

    table, summary = select_for_search(scores, detections, network_rule, config)
    inputs = [*args.scores, *args.detections, *filter(None, [args.model_card])]
    provenance = make_provenance("flag", args.options, inputs)
    write_table(table, args.out, provenance)
    write_json(summary, args.summary, provenance)
    log.info("%d of %d light curves go on to the search (%s)", summary["flagged"], len(table),
             json.dumps({k: v for k, v in summary.items() if k != "thresholds"}, default=str))


def cmd_search(args) -> None:
    """Search the flagged light curves of a shard in depth."""
    from transitflow.searching.stage import search_shard

    search_shard(args.shard, args.scores, args.options, args.out, args.failed)


def cmd_crowded_epochs(args) -> None:
    """The sector's epochs crowded with many stars' events, from every shard's signals."""
    from transitflow.vetting.skye import crowded_epochs
    from transitflow.vetting import VetConfig

    config = VetConfig.from_dict(args.options)
    epochs = crowded_epochs(read_tables(args.signals), config.crowded_false_alarm)
    write_json(epochs.to_dict(), args.out, make_provenance("crowded_epochs", args.options,
                                                           args.signals))
    log.info("%d crowded half-day bins", len(epochs.windows))


def cmd_vet(args) -> None:
    """Vet every signal of a shard; draw a sheet for the dispositions asked for."""
    from transitflow.report import ReportConfig
    from transitflow.vetting.stage import vet_shard

    sheets_for = ReportConfig.from_dict(args.options.get("report", {})).sheets_for
    vet_shard(args.shard, args.signals, args.crowded_epochs, args.options, args.out,
              args.failed, args.sheets_dir, sheets_for)


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
    from transitflow.searching import SearchConfig
    from transitflow.shards import read_shard
    from transitflow.vetting import VetConfig
    from transitflow.vetting.skye import CrowdedEpochs, mark_crowded

    options = dict(args.options)
    injections = read_table(args.injections)
    batch_size = InferConfig.from_dict(options["infer"]).batch_size
    scores = score_shard(args.model, args.shard, batch_size=batch_size) if args.model else None
    crowded = CrowdedEpochs.read(args.crowded_epochs)
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

    injections = read_tables(args.recovered)
    provenance = make_provenance("completeness", {}, args.recovered)
    write_table(injections, args.out, provenance)
    write_json(summary(injections), args.summary, provenance)
    plot_completeness(injections, args.figure)


def cmd_report(args) -> None:
    """Candidate tables and the HTML report of the run."""
    from transitflow.report.stage import ReportFiles, run_report

    files = ReportFiles(**{name: getattr(args, name) for name in ReportFiles.__dataclass_fields__})
    run_report(files, args.out_dir, args.out_csv, args.out_parquet, args.out_ctoi, args.options)


def cmd_target(args) -> None:
    """Read, score, search and vet light-curve files: a row and a sheet per signal. Options:
    ``{"search": {...}, "vet": {...}}``, the workflow config's sections."""
    from transitflow.searching import SearchConfig
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

"""The ``transitflow`` command: one subcommand per pipeline stage, called by the rules.

Each subcommand parses its arguments and calls its stage's one library entry point, which
reads the inputs and writes the outputs with provenance. Stage options arrive as one JSON
object (``--options``), the stage's section of the workflow config; settings of speed and
fetching that never change what a stage writes may come apart (``--throughput``), since the
workflow passes them outside its rules' params so that changing them reruns nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from errno import ENOSPC

from transitflow.options import THROUGHPUT_KEYS


log = logging.getLogger("transitflow")


def _options(text: str) -> dict:
    try:
        options = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error})") from error
    if not isinstance(options, dict):
        raise argparse.ArgumentTypeError("not a JSON object")
    return options


#: The config section whose throughput settings (--throughput) each subcommand takes.
THROUGHPUT_SECTION = {"mast-list": "mast", "mast-download": "mast", "ingest": "mast",
                      "train": "train"}


def with_throughput(command: str, options: dict, throughput: dict) -> dict:
    """``options`` with the ``throughput`` settings laid over them; a setting that may
    change a result is refused, since the workflow passes these outside its rerun checks."""
    allowed = THROUGHPUT_KEYS.get(THROUGHPUT_SECTION.get(command, ""), ())
    refused = sorted(set(throughput) - set(allowed))
    if refused:
        raise ValueError(f"--throughput takes only settings that never change a result "
                         f"({', '.join(allowed) or 'none for this command'}), not "
                         f"{', '.join(refused)}; give it in --options")
    return {**options, **throughput}


def cmd_mast_list(args) -> None:
    """List the light curves to fetch from MAST and cut the listing into download shards."""
    from transitflow.mast import run_mast_list

    run_mast_list(args.options, args.shard_size, args.out, args.shards_dir)


def cmd_mast_download(args) -> None:
    """Download one listing shard into the cache; its ledger says what happened to each."""
    from transitflow.mast import run_mast_download

    run_mast_download(args.listing, args.options, args.ledger)


def cmd_fetch_catalog(args) -> None:
    """Download a catalog named by URL in the config."""
    from transitflow.catalogs import fetch_catalog

    log.info("%s: %d bytes from %s", args.out, fetch_catalog(args.url, args.out), args.url)


def cmd_ingest(args) -> None:
    """Simulate or read the light curves of one data job into a shard."""
    from transitflow.ingest import run_ingest

    run_ingest(args.source, args.options, args.inputs, args.start, args.stop,
               args.stitch_sectors, args.shard, args.stars, args.ledger, args.truth)


def cmd_collect(args) -> None:
    """Merge the per-shard data tables; list quarantined inputs in a CSV."""
    from transitflow.ingest import collect

    collect(args.stars, args.ledgers, args.truths, args.out_stars, args.out_ledger,
            args.out_truth, args.out_quarantine)


def cmd_labels(args) -> None:
    """Training labels: the simulation's truth, or the catalogs' for real light curves."""
    from transitflow.labels import run_labels

    run_labels(args.stars, args.shards, args.options, args.out, args.report)


def cmd_split(args) -> None:
    """Split the labelled stars into train, validation and test."""
    from transitflow.split import run_split

    run_split(args.labels, args.options, args.out, args.report)


def cmd_train(args) -> None:
    """Train a model on the labelled light curves of the training split."""
    from transitflow.training.stage import run_train

    run_train(args.shards, args.labels, args.split, args.options, args.out_dir, args.detections)


def cmd_infer(args) -> None:
    """Score every light curve of a shard with the network."""
    from transitflow.infer import run_infer

    run_infer(args.model, args.shard, args.options, args.out, args.detections)


def cmd_detect(args) -> None:
    """Batched search of every light curve of a shard and of its inverted copy."""
    from transitflow.detect.stage import run_detect

    run_detect(args.shard, args.options, args.out)


def cmd_flag(args) -> None:
    """Pick the light curves for the in-depth search: network scores, search detections."""
    from transitflow.detect.stage import run_flag

    run_flag(args.scores, args.detections, args.model_card, args.options, args.out,
             args.summary)


def cmd_search(args) -> None:
    """Search the flagged light curves of a shard in depth."""
    from transitflow.searching.stage import search_shard

    search_shard(args.shard, args.scores, args.options, args.out, args.failed, args.spectra)


def cmd_crowded_epochs(args) -> None:
    """The sector's epochs crowded with many stars' events, from every shard's signals."""
    from transitflow.vetting.stage import run_crowded_epochs

    run_crowded_epochs(args.signals, args.options, args.out)


def cmd_vet(args) -> None:
    """Vet every signal of a shard; draw a sheet for the dispositions asked for."""
    from transitflow.report import ReportConfig
    from transitflow.vetting.stage import vet_shard

    sheets_for = ReportConfig.from_dict(args.options.get("report", {})).sheets_for
    vet_shard(args.shard, args.signals, args.spectra, args.crowded_epochs, args.scores,
              args.options, args.out, args.failed, args.sheets_dir, sheets_for)


def cmd_inject(args) -> None:
    """Injected copies of a shard's light curves, for the completeness measurement."""
    from transitflow.completeness import run_inject

    run_inject(args.shard, args.split, args.options, args.out_shard, args.out)


def cmd_recover(args) -> None:
    """The stage each injected transit of a shard reached, through the run's chain."""
    from transitflow.completeness import run_recover

    run_recover(args.shard, args.injections, args.flag_summary, args.vetting,
                args.crowded_epochs, args.model, args.options, args.out)


def cmd_completeness(args) -> None:
    """Merge the injections of all shards; completeness tables and their figure."""
    from transitflow.completeness import run_completeness

    run_completeness(args.recovered, args.out, args.summary, args.figure)


def cmd_report(args) -> None:
    """Candidate tables and the HTML report of the run."""
    from transitflow.report.stage import ReportFiles, run_report

    files = ReportFiles(**{name: getattr(args, name) for name in ReportFiles.__dataclass_fields__})
    run_report(files, args.out_dir, args.out_csv, args.out_parquet, args.out_ctoi, args.options)


def cmd_target(args) -> None:
    """Read, score, search and vet light-curve files: a row and a sheet per signal. Options:
    ``{"search": {...}, "vet": {...}}``, the workflow config's sections."""
    from transitflow.target import run_target

    run_target(args.files, args.out, args.model, args.options)


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
        command.add_argument("--throughput", type=_options, default={},
                             help="settings of speed and fetching (JSON), laid over --options")
        command.set_defaults(func=func)
        return command

    p = add("mast-list", cmd_mast_list, "list a sector's light curves at MAST, in shards")
    p.add_argument("--shard-size", type=int, required=True)
    p.add_argument("--out", "--output", required=True)
    p.add_argument("--shards-dir", required=True)

    p = add("mast-download", cmd_mast_download, "download one listing shard from MAST")
    p.add_argument("--listing", required=True)
    p.add_argument("--ledger", required=True)

    p = add("fetch-catalog", cmd_fetch_catalog, "download a catalog named by URL")
    p.add_argument("--url", required=True)
    p.add_argument("--out", "--output", required=True)

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
    p.add_argument("--out", "--output", required=True)
    p.add_argument("--report", required=True)

    p = add("split", cmd_split, "split targets into train/val/test")
    p.add_argument("--labels", required=True)
    p.add_argument("--out", "--output", required=True)
    p.add_argument("--report", required=True)

    p = add("train", cmd_train, "train a model")
    p.add_argument("--shards", nargs="+", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--detections", nargs="*", default=[],
                   help="detection tables: the ephemerides of local views")

    p = add("infer", cmd_infer, "score every light curve of a shard")
    p.add_argument("--model", required=True)
    p.add_argument("--shard", required=True)
    p.add_argument("--out", "--output", required=True)
    p.add_argument("--detections", default="",
                   help="the shard's detection table: the ephemerides of local views")

    p = add("detect", cmd_detect, "batched transit search of every light curve of a shard")
    p.add_argument("--shard", required=True)
    p.add_argument("--out", "--output", required=True)

    p = add("flag", cmd_flag, "pick the light curves for the search (network, detections)")
    p.add_argument("--scores", nargs="*", default=[])
    p.add_argument("--detections", nargs="*", default=[])
    p.add_argument("--model-card", default="")
    p.add_argument("--out", "--output", required=True)
    p.add_argument("--summary", required=True)

    p = add("search", cmd_search, "search flagged light curves of a shard for transits")
    p.add_argument("--shard", required=True)
    p.add_argument("--scores", required=True)
    p.add_argument("--out", "--output", required=True)
    p.add_argument("--failed", required=True, help="table of light curves that failed")
    p.add_argument("--spectra", required=True,
                   help="table of each light curve's periodogram, for the vetting sheets")

    p = add("crowded-epochs", cmd_crowded_epochs,
            "epochs crowded with many stars' events (Skye), from every shard's signals")
    p.add_argument("--signals", nargs="+", required=True)
    p.add_argument("--out", "--output", required=True)

    p = add("vet", cmd_vet, "vet the signals of a shard and draw their sheets")
    p.add_argument("--shard", required=True)
    p.add_argument("--signals", required=True)
    p.add_argument("--spectra", required=True, help="the search's table of periodograms")
    p.add_argument("--crowded-epochs", required=True, help="the run's crowded epochs (JSON)")
    p.add_argument("--scores", required=True,
                   help="the flag stage's scores (each light curve's score and detection paths)")
    p.add_argument("--out", "--output", required=True)
    p.add_argument("--failed", required=True, help="table of light curves that failed")
    p.add_argument("--sheets-dir", required=True)

    p = add("inject", cmd_inject, "inject transits into copies of a shard's light curves")
    p.add_argument("--shard", required=True)
    p.add_argument("--split", default="", help="the training split, whose stars are skipped")
    p.add_argument("--out-shard", required=True)
    p.add_argument("--out", "--output", required=True, help="table of the injected transits")

    p = add("recover", cmd_recover, "follow injected transits through the run's chain")
    for name in ("shard", "injections", "flag-summary"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--out", "--output", required=True)
    p.add_argument("--vetting", required=True,
                   help="the run's vetting of the shard: hosts of its PCs, EBs and BEBs")
    p.add_argument("--crowded-epochs", required=True, help="the run's crowded epochs (JSON)")
    p.add_argument("--model", default="", help="the run's model; none without a network")

    p = add("completeness", cmd_completeness, "merge the injections; completeness and figure")
    p.add_argument("--recovered", nargs="+", required=True)
    p.add_argument("--out", "--output", required=True)
    for name in ("summary", "figure"):
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
    p.add_argument("--injections", default="", help="the completeness stage's injections")

    add("columns", cmd_columns, "print the candidate columns' dictionary (Markdown)")
    p = add("target", cmd_target, "search and vet a few light-curve files, no workflow")
    p.add_argument("files", nargs="+", help="light-curve files (any format the data stage reads)")
    p.add_argument("--out", "--output", required=True,
                   help="folder for signals.csv, ledger.csv and sheets/")
    p.add_argument("--model", help="a trained model.pt to score the light curves with")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s transitflow %(message)s")
    try:
        args.options = with_throughput(args.command, args.options, args.throughput)
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

"""Config validation, the shard plan and helpers shared by the rules."""

import glob
import json
import os
import shlex
import sys
from pathlib import Path

# The library, for the Snakefile here and for the jobs: they run `python -m transitflow`,
# in a per-rule conda env (--sdm conda) finding it through PYTHONPATH.
LIBRARY = Path(workflow.basedir) / "src"
sys.path.insert(0, str(LIBRARY))

from transitflow.config_schema import check_config

check_config(config, Path(workflow.current_basedir) / "../schemas/config.schema.yaml")

RUN = f"results/{config['run']}"
# Which paths lead a light curve to the in-depth search (detect.policy): the network's
# score, the batched search of every light curve, or both.
USES_NETWORK = config["detect"]["policy"] != "search"
USES_SEARCH = config["detect"]["policy"] != "network"
# Whether this run trains the network (else it scores with model=... or not at all).
TRAINS = USES_NETWORK and not config["model"]
# Whether the network reads local views at the batched search's ephemerides: then the detect
# jobs run before it trains and scores, whatever the policy.
LOCAL_VIEWS = config["train"].get("features", {}).get("local_length", 0) > 0
DETECTIONS = f"{RUN}/detect/{{shard}}.parquet"
# Whether this run measures its completeness by injection and recovery.
MEASURES_COMPLETENESS = config["completeness"]["stars"] > 0

shell.prefix(f'export PYTHONPATH="{LIBRARY}${{{{PYTHONPATH:+:$PYTHONPATH}}}}"; ')
LOGS = f"{RUN}/logs"

from transitflow.catalogs import FILE_NAMES, catalog_urls
from transitflow.files import find_files, shard_files
from transitflow.options import THROUGHPUT_KEYS

LABEL_CATALOGS = ("toi_table", "tess_ebs", "tess_ebs_readme", "yu2019")
if TRAINS and config["source"] != "sim":
    if not any(config["labels"].get(key) for key in LABEL_CATALOGS):
        raise ValueError(
            f"source={config['source']} trains the network on labelled real light curves, "
            "but no label catalog is set: give labels (labels: toi_table, tess_ebs, "
            "yu2019), a trained model (model=...), or search without a network "
            "(detect: {policy: search})"
        )
# Catalog settings given as a URL or shortcut: fetched into the run by rule fetch_catalog.
ONLINE_CATALOGS = catalog_urls(
    {
        **{key: config["labels"].get(key, "") for key in LABEL_CATALOGS},
        "known_tois": config["known_tois"],
        "known_ebs": config["known_ebs"],
    }
)


def local_files():
    """The light-curve files of source=local, sorted so shards are stable; each real file
    once, link loops walked once, dangling links kept for the ledger (:func:`find_files`).
    """
    pattern = config["local_glob"]
    if not pattern:
        raise ValueError(
            "source=local needs local_glob, e.g. --config 'local_glob=lcs/**/*.fits'"
        )
    files = find_files(pattern)
    if not files:
        raise ValueError(f"local_glob={pattern!r} matches no file")
    return files


def shard_plan():
    """Shard id -> what the data job reads: a star range (sim) or a list of files (local).
    Empty for mast, whose shards come from the listing (:func:`shard_ids`)."""
    size = config["shard_size"]
    if config["source"] == "sim":
        n = config["sim"]["n_stars"]
        ranges = [(start, min(start + size, n)) for start in range(0, n, size)]
        return {f"{i:04d}": r for i, r in enumerate(ranges)}
    if config["source"] == "local":
        return {
            f"{i:04d}": files
            for i, files in enumerate(shard_files(local_files(), size))
        }
    return {}


SHARDS = shard_plan()


def section(name):
    """A config section without its throughput settings."""
    skip = THROUGHPUT_KEYS.get(name, ())
    return {
        key: value for key, value in config.get(name, {}).items() if key not in skip
    }


def throughput_of(name):
    """A config section's throughput settings."""
    settings = config.get(name, {})
    return {key: settings[key] for key in THROUGHPUT_KEYS[name] if key in settings}


def quoted(value):
    """A value as one shell-quoted JSON argument."""
    return shlex.quote(json.dumps(value, sort_keys=True))


# Settings of speed and fetching (THROUGHPUT_KEYS) reach the jobs as a resource
# (--throughput {resources.throughput}), not as params: snakemake reruns a job, and every
# job after it, when its params change, not its resources.
THROUGHPUT = {
    "mast": quoted(throughput_of("mast")),
    "train": quoted(throughput_of("train")),
    "ingest": quoted(throughput_of("mast") if config["source"] == "mast" else {}),
}


def options(name, **extra):
    """A config section (plus extras) without its throughput settings, as one shell-quoted
    JSON argument."""
    return quoted({**section(name), **extra})


def detect_options():
    """The detect job's options: the batched search's own settings and the search settings
    it shares (period range, durations, detrending). The thresholds and the policy act in
    the flag job, so changing them, or other search settings, does not rerun it."""
    own = ("bin_minutes", "edge_days", "batch_size", "n_peaks", "device")
    shared = ("min_period", "max_period", "durations", "oversampling", "detrend_window")
    return quoted({**settings("detect", own), "search": settings("search", shared)})


def settings(name, keys):
    """The settings ``keys`` of config section ``name`` that it sets."""
    return {key: value for key, value in config[name].items() if key in keys}


def inject_options():
    """The inject job's options: the completeness section and the search settings that set
    the detrending, whose kept cadences the inverted copies mirror."""
    return quoted(
        {
            "completeness": {**section("completeness"), "seed": config["seed"]},
            "search": settings("search", ("durations", "detrend_window")),
        }
    )


def shard_ids():
    """The shard ids: planned from the config, or for mast, one per listing shard (known
    once the mast_listing checkpoint has run)."""
    if config["source"] != "mast":
        return sorted(SHARDS)
    listing = checkpoints.mast_listing.get().output.shards
    return sorted(Path(path).stem for path in glob.glob(f"{listing}/*.parquet"))


def per_shard(pattern):
    """An input function: ``pattern`` (or a list of patterns) expanded over all shard ids."""
    return lambda wildcards: expand(pattern, shard=shard_ids())


def model_path():
    """The model to score with: the user's, or the one this run trains."""
    return config["model"] or f"{RUN}/model/model.pt"


def model_card():
    """The model card beside the model, if the network is used and there is one."""
    card = Path(model_path()).with_name("model_card.json")
    return str(card) if USES_NETWORK and (not config["model"] or card.exists()) else []


def ingest_inputs(wildcards):
    """What a data job reads: its files (local), its download ledger (mast) or nothing.
    Links to nothing are left out here, so the job runs and quarantines them
    (:func:`ingest_paths`)."""
    if config["source"] == "local":
        return [path for path in SHARDS[wildcards.shard] if os.path.exists(path)]
    if config["source"] == "mast":
        return [f"{RUN}/data/mast/downloads/{wildcards.shard}.parquet"]
    return []


def ingest_paths(wildcards):
    """The data job's --inputs: every file of its shard (local), else its inputs."""
    if config["source"] == "local":
        return " ".join(shlex.quote(path) for path in SHARDS[wildcards.shard])
    return " ".join(shlex.quote(path) for path in ingest_inputs(wildcards))


def ingest_options():
    """The data job's options: the sim or mast config section."""
    if config["source"] == "sim":
        return options("sim", seed=config["seed"])
    return options("mast") if config["source"] == "mast" else "'{}'"


def mast_targets_file():
    """The target CSV of source=mast, if the targets are given as one."""
    targets = config["mast"]["targets"]
    return [targets] if isinstance(targets, str) else []


def ingest_arguments(wildcards):
    """--start/--stop for simulated stars; for files, whether to join a star's sectors."""
    if config["source"] != "sim":
        return "--stitch-sectors" if config["stitch_sectors"] else ""
    start, stop = SHARDS[wildcards.shard]
    return f"--start {start} --stop {stop}"


def catalog_file(key, setting):
    """The file of a catalog setting: fetched into the run, or the path as given."""
    return f"{RUN}/catalogs/{FILE_NAMES[key]}" if key in ONLINE_CATALOGS else setting


def catalog_readme(key, setting):
    """The CDS ReadMe of a catalog setting: fetched beside it, or beside the path given
    (so that a missing one stops the run before it starts); none when unset."""
    if not setting:
        return []
    readme = f"{key}_readme"
    if readme in ONLINE_CATALOGS:
        return catalog_file(readme, "")
    return str(Path(setting).with_name("ReadMe"))


def label_catalogs():
    """Label catalog setting -> the file the label builder reads (section ``labels``), the
    TESS EB catalog's ReadMe included."""
    catalogs = {
        key: catalog_file(key, config["labels"].get(key, ""))
        for key in LABEL_CATALOGS
        if config["labels"].get(key) or key in ONLINE_CATALOGS
    }
    if "tess_ebs" in catalogs and "tess_ebs_readme" not in catalogs:
        catalogs["tess_ebs_readme"] = catalog_readme("tess_ebs", catalogs["tess_ebs"])
    return catalogs


def catalog_url(wildcards):
    """The URL of a catalog file in the run's catalogs/ folder."""
    urls = {FILE_NAMES[key]: url for key, url in ONLINE_CATALOGS.items()}
    return shlex.quote(urls[wildcards.name])


def train_cores():
    """Cores of the train job: each process's torch threads and batch-building workers, for
    each torchrun process or, without torchrun, each ensemble member trained at once."""
    train = config.get("train", {})
    per_process = train.get("threads", 1) + train.get("num_workers", 0)
    if config["train_processes"] > 1:
        return per_process * config["train_processes"]
    return per_process * min(train.get("member_processes", 1), train.get("ensemble", 1))


def train_launcher():
    """``python``, or ``torchrun`` with one process per GPU when train_processes > 1."""
    processes = config["train_processes"]
    return (
        "python"
        if processes == 1
        else f"torchrun --standalone --nproc-per-node {processes}"
    )

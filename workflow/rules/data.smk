wildcard_constraints:
    shard=r"\d{4}",


# Small network jobs run where snakemake runs, which can reach the internet on any cluster.
localrules:
    mast_listing,
    fetch_catalog,


if config["local_downloads"]:

    localrules:
        mast_download,


checkpoint mast_listing:
    input:
        mast_targets_file(),
    output:
        listing=f"{RUN}/data/mast/listing.parquet",
        shards=directory(f"{RUN}/data/mast/listing"),
    log:
        f"{LOGS}/mast_listing.log",
    conda:
        "../../envs/data.yaml"
    resources:
        throughput=THROUGHPUT["mast"],
    params:
        options=options("mast"),
        shard_size=config["shard_size"],
    shell:
        "python -m transitflow mast-list --options {params.options} --throughput {resources.throughput}"
        " --shard-size {params.shard_size} --out {output.listing}"
        " --shards-dir {output.shards} 2> {log}"


rule mast_download:
    input:
        f"{rules.mast_listing.output.shards}/{{shard}}.parquet",
    output:
        f"{RUN}/data/mast/downloads/{{shard}}.parquet",
    log:
        f"{LOGS}/mast_download/{{shard}}.log",
    conda:
        "../../envs/data.yaml"
    resources:
        throughput=THROUGHPUT["mast"],
    params:
        options=options("mast"),
    shell:
        "python -m transitflow mast-download --options {params.options} --throughput {resources.throughput}"
        " --listing {input}"
        " --ledger {output} 2> {log}"


rule ingest:
    input:
        ingest_inputs,
    output:
        shard=f"{RUN}/data/shards/{{shard}}.arrow",
        stars=f"{RUN}/data/stars/{{shard}}.parquet",
        ledger=f"{RUN}/data/ledger/{{shard}}.parquet",
        truth=f"{RUN}/data/truth/{{shard}}.parquet",
    log:
        f"{LOGS}/ingest/{{shard}}.log",
    conda:
        "../../envs/data.yaml"
    resources:
        throughput=THROUGHPUT["ingest"],
    params:
        source=config["source"],
        range=ingest_arguments,
        paths=ingest_paths,
        options=ingest_options(),
    shell:
        "python -m transitflow ingest --source {params.source} {params.range} --inputs {params.paths}"
        " --options {params.options} --throughput {resources.throughput}"
        " --shard {output.shard} --stars {output.stars}"
        " --ledger {output.ledger} --truth {output.truth} 2> {log}"


rule collect:
    input:
        stars=per_shard(rules.ingest.output.stars),
        ledgers=per_shard(rules.ingest.output.ledger),
        truths=per_shard(rules.ingest.output.truth),
    output:
        stars=f"{RUN}/data/stars.parquet",
        ledger=f"{RUN}/data/ledger.parquet",
        truth=f"{RUN}/data/truth.parquet",
        quarantine=f"{RUN}/data/quarantine.csv",
    log:
        f"{LOGS}/collect.log",
    conda:
        "../../envs/data.yaml"
    shell:
        "python -m transitflow collect --stars {input.stars} --ledgers {input.ledgers}"
        " --truths {input.truths} --out-stars {output.stars} --out-ledger {output.ledger}"
        " --out-truth {output.truth} --out-quarantine {output.quarantine} 2> {log}"

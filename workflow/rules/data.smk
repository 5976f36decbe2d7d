wildcard_constraints:
    shard=r"\d{4}",


rule ingest:
    input:
        lambda wildcards: SHARDS[wildcards.shard] if config["source"] == "local" else [],
    output:
        shard=f"{RUN}/data/shards/{{shard}}.arrow",
        stars=f"{RUN}/data/stars/{{shard}}.parquet",
        ledger=f"{RUN}/data/ledger/{{shard}}.parquet",
        truth=f"{RUN}/data/truth/{{shard}}.parquet",
    log:
        f"{LOGS}/ingest/{{shard}}.log",
    conda:
        "../../envs/data.yaml"
    params:
        source=config["source"],
        range=ingest_arguments,
        options=(
            options("sim", seed=config["seed"])
            if config["source"] == "sim"
            else "'{}'"
        ),
    shell:
        "python -m transitflow ingest --source {params.source} {params.range} --inputs {input:q}"
        " --options {params.options} --shard {output.shard} --stars {output.stars}"
        " --ledger {output.ledger} --truth {output.truth} 2> {log}"


rule collect:
    input:
        stars=per_shard(f"{RUN}/data/stars/{{shard}}.parquet"),
        ledgers=per_shard(f"{RUN}/data/ledger/{{shard}}.parquet"),
        truths=per_shard(f"{RUN}/data/truth/{{shard}}.parquet"),
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

rule labels:
    input:
        stars=f"{RUN}/data/stars.parquet",
        shards=per_shard(f"{RUN}/data/shards/{{shard}}.arrow"),
        catalogs=label_catalogs(),
    output:
        labels=f"{RUN}/data/labels.parquet",
        report=f"{RUN}/data/label_report.json",
    log:
        f"{LOGS}/labels.log",
    conda:
        "../../envs/data.yaml"
    params:
        options=options("labels"),
    shell:
        "python -m transitflow labels --stars {input.stars} --shards {input.shards}"
        " --options {params.options} --out {output.labels} --report {output.report} 2> {log}"


rule split:
    input:
        labels=f"{RUN}/data/labels.parquet",
    output:
        split=f"{RUN}/split/split.parquet",
        report=f"{RUN}/split/split_report.json",
    log:
        f"{LOGS}/split.log",
    conda:
        "../../envs/data.yaml"
    params:
        options=options("split", seed=config["seed"]),
    shell:
        "python -m transitflow split --labels {input.labels} --options {params.options}"
        " --out {output.split} --report {output.report} 2> {log}"

rule fetch_catalog:
    output:
        f"{RUN}/catalogs/{{name}}",
    log:
        f"{LOGS}/fetch_catalog/{{name}}.log",
    conda:
        "../../envs/data.yaml"
    params:
        url=catalog_url,
    shell:
        "python -m transitflow fetch-catalog --url {params.url} --out {output} 2> {log}"


rule labels:
    input:
        stars=rules.collect.output.stars,
        shards=per_shard(rules.ingest.output.shard),
        catalogs=list(label_catalogs().values()),
    output:
        labels=f"{RUN}/data/labels.parquet",
        report=f"{RUN}/data/label_report.json",
    log:
        f"{LOGS}/labels.log",
    conda:
        "../../envs/data.yaml"
    params:
        options=options("labels", **label_catalogs()),
    shell:
        "python -m transitflow labels --stars {input.stars} --shards {input.shards}"
        " --options {params.options} --out {output.labels} --report {output.report} 2> {log}"


rule split:
    input:
        labels=rules.labels.output.labels,
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

rule search:
    input:
        shard=f"{RUN}/data/shards/{{shard}}.arrow",
        scores=f"{RUN}/infer/scores.parquet",
    output:
        signals=f"{RUN}/search/signals/{{shard}}.parquet",
        failed=f"{RUN}/search/failed/{{shard}}.parquet",
    log:
        f"{LOGS}/search/{{shard}}.log",
    conda:
        "../../envs/search.yaml"
    params:
        options=options("search"),
    shell:
        "python -m transitflow search --shard {input.shard} --scores {input.scores}"
        " --options {params.options} --out {output.signals} --failed {output.failed} 2> {log}"

rule search:
    input:
        shard=f"{RUN}/data/shards/{{shard}}.arrow",
        scores=f"{RUN}/infer/scores.parquet",
    output:
        f"{RUN}/search/signals/{{shard}}.parquet",
    log:
        f"{LOGS}/search/{{shard}}.log",
    conda:
        "../../envs/search.yaml"
    params:
        options=options("search"),
    shell:
        "python -m transitflow search --shard {input.shard} --scores {input.scores}"
        " --options {params.options} --out {output} 2> {log}"

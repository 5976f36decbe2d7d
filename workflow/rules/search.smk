rule search:
    input:
        shard=rules.ingest.output.shard,
        scores=rules.flag.output.scores,
    output:
        signals=f"{RUN}/search/signals/{{shard}}.parquet",
        failed=f"{RUN}/search/failed/{{shard}}.parquet",
        spectra=f"{RUN}/search/spectra/{{shard}}.parquet",
    log:
        f"{LOGS}/search/{{shard}}.log",
    conda:
        "../../envs/search.yaml"
    params:
        options=options("search"),
    shell:
        "python -m transitflow search --shard {input.shard} --scores {input.scores}"
        " --options {params.options} --out {output.signals} --failed {output.failed}"
        " --spectra {output.spectra} 2> {log}"

rule detect:
    input:
        shard=rules.ingest.output.shard,
    output:
        DETECTIONS,
    log:
        f"{LOGS}/detect/{{shard}}.log",
    conda:
        "../../envs/search.yaml"
    params:
        options=detect_options(),
    shell:
        "python -m transitflow detect --shard {input.shard} --options {params.options}"
        " --out {output} 2> {log}"

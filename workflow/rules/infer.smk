rule infer:
    input:
        model=model_path(),
        shard=rules.ingest.output.shard,
        detections=DETECTIONS if LOCAL_VIEWS else [],
    output:
        f"{RUN}/infer/scores/{{shard}}.parquet",
    log:
        f"{LOGS}/infer/{{shard}}.log",
    conda:
        "../../envs/infer.yaml"
    params:
        options=options("infer"),
    shell:
        "python -m transitflow infer --model {input.model} --shard {input.shard}"
        " --detections '{input.detections}'"
        " --options {params.options} --out {output} 2> {log}"


rule flag:
    input:
        scores=(per_shard(rules.infer.output[0]) if USES_NETWORK else []),
        detections=per_shard(rules.detect.output[0]) if USES_SEARCH else [],
        card=model_card(),
    output:
        scores=f"{RUN}/infer/scores.parquet",
        summary=f"{RUN}/infer/flag_summary.json",
    log:
        f"{LOGS}/flag.log",
    conda:
        "../../envs/search.yaml"
    params:
        options=options("flag", detect=config["detect"]),
    shell:
        "python -m transitflow flag --scores {input.scores} --detections {input.detections}"
        " --model-card '{input.card}'"
        " --options {params.options} --out {output.scores} --summary {output.summary} 2> {log}"

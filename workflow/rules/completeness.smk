rule inject:
    input:
        shard=rules.ingest.output.shard,
        split=rules.split.output.split if TRAINS else [],
    output:
        shard=f"{RUN}/completeness/shards/{{shard}}.arrow",
        injections=f"{RUN}/completeness/injected/{{shard}}.parquet",
    log:
        f"{LOGS}/inject/{{shard}}.log",
    conda:
        "../../envs/search.yaml"
    params:
        options=inject_options(),
    shell:
        "python -m transitflow inject --shard {input.shard} --split '{input.split}'"
        " --options {params.options} --out-shard {output.shard}"
        " --out {output.injections} 2> {log}"


rule recover:
    input:
        shard=rules.inject.output.shard,
        injections=rules.inject.output.injections,
        flag_summary=rules.flag.output.summary,
        vetting=rules.vet.output.vetting,
        crowded_epochs=rules.crowded_epochs.output[0],
        model=model_path() if USES_NETWORK else [],
    output:
        f"{RUN}/completeness/recovered/{{shard}}.parquet",
    log:
        f"{LOGS}/recover/{{shard}}.log",
    conda:
        "../../envs/search.yaml"
    params:
        options=quoted(
            {name: config[name] for name in ("infer", "search", "detect", "vet")}
        ),
    shell:
        "python -m transitflow recover --shard {input.shard} --injections {input.injections}"
        " --flag-summary {input.flag_summary} --vetting {input.vetting}"
        " --crowded-epochs {input.crowded_epochs}"
        " --model '{input.model}' --options {params.options} --out {output} 2> {log}"


rule completeness:
    input:
        per_shard(rules.recover.output[0]),
    output:
        injections=f"{RUN}/completeness/injections.parquet",
        summary=f"{RUN}/completeness/completeness.json",
        figure=report(
            f"{RUN}/completeness/completeness.png",
            caption="../report/completeness.rst",
            category="Completeness",
        ),
    log:
        f"{LOGS}/completeness.log",
    conda:
        "../../envs/search.yaml"
    shell:
        "python -m transitflow completeness --recovered {input} --out {output.injections}"
        " --summary {output.summary} --figure {output.figure} 2> {log}"

rule vet:
    input:
        shard=f"{RUN}/data/shards/{{shard}}.arrow",
        signals=f"{RUN}/search/signals/{{shard}}.parquet",
    output:
        vetting=f"{RUN}/vet/vetting/{{shard}}.parquet",
        failed=f"{RUN}/vet/failed/{{shard}}.parquet",
        sheets=directory(f"{RUN}/vet/sheets/{{shard}}"),
    log:
        f"{LOGS}/vet/{{shard}}.log",
    conda:
        "../../envs/search.yaml"
    params:
        options=options(
            "vet",
            search=config["search"],
            report={"sheets_for": config["report"]["sheets_for"]},
        ),
    shell:
        "python -m transitflow vet --shard {input.shard} --signals {input.signals}"
        " --options {params.options} --out {output.vetting} --failed {output.failed}"
        " --sheets-dir {output.sheets} 2> {log}"

rule crowded_epochs:
    input:
        per_shard(rules.search.output.signals),
    output:
        f"{RUN}/vet/crowded_epochs.json",
    log:
        f"{LOGS}/crowded_epochs.log",
    conda:
        "../../envs/search.yaml"
    params:
        options=options("vet"),
    shell:
        "python -m transitflow crowded-epochs --signals {input} --options {params.options}"
        " --out {output} 2> {log}"


rule vet:
    input:
        shard=rules.ingest.output.shard,
        signals=rules.search.output.signals,
        spectra=rules.search.output.spectra,
        crowded_epochs=rules.crowded_epochs.output[0],
        scores=rules.flag.output.scores,
    output:
        vetting=f"{RUN}/vet/vetting/{{shard}}.parquet",
        failed=f"{RUN}/vet/failed/{{shard}}.parquet",
        sheets=directory(f"{RUN}/vet/sheets/{{shard}}"),
    log:
        f"{LOGS}/vet/{{shard}}.log",
    # before a ready recovery job, which waits for its shard's vet job and is a third as
    # long: the run ends on short jobs side by side (docs/benchmarks.md)
    priority: 1
    conda:
        "../../envs/search.yaml"
    params:
        options=options(
            "vet",
            search=config["search"],
            report={"sheets_for": config["report"]["sheets_for"]},
        ),
    shell:
        "python -m transitflow vet --shard {input.shard} --signals {input.signals} --spectra {input.spectra}"
        " --crowded-epochs {input.crowded_epochs} --scores {input.scores} --options {params.options} --out {output.vetting} --failed {output.failed}"
        " --sheets-dir {output.sheets} 2> {log}"

rule split:
    input:
        stars=f"{RUN}/data/stars.parquet",
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
        "python -m transitflow split --stars {input.stars} --options {params.options}"
        " --out {output.split} --report {output.report} 2> {log}"

rule report:
    input:
        vetting=per_shard(rules.vet.output.vetting),
        sheets=per_shard(rules.vet.output.sheets),
        failed=per_shard([rules.search.output.failed, rules.vet.output.failed]),
        scores=rules.flag.output.scores,
        flag_summary=rules.flag.output.summary,
        stars=rules.collect.output.stars,
        ledger=rules.collect.output.ledger,
        truth=rules.collect.output.truth,
        split=rules.split.output.split if TRAINS else [],
        card=model_card(),
        known_tois=catalog_file("known_tois", config["known_tois"]) or [],
        known_ebs=catalog_file("known_ebs", config["known_ebs"]) or [],
        known_ebs_readme=catalog_readme("known_ebs", config["known_ebs"]),
        completeness=(
            rules.completeness.output.summary if MEASURES_COMPLETENESS else []
        ),
        injections=(
            rules.completeness.output.injections if MEASURES_COMPLETENESS else []
        ),
        figures=(
            []
            if not TRAINS
            else [
                rules.train.output.curves,
                rules.train.output.confusion,
                rules.train.output.calibration,
            ]
        )
        + ([rules.completeness.output.figure] if MEASURES_COMPLETENESS else []),
    output:
        csv=report(
            f"{RUN}/candidates.csv",
            caption="../report/candidates.rst",
            category="Candidates",
        ),
        parquet=f"{RUN}/candidates.parquet",
        ctoi=f"{RUN}/ctoi.csv",
        html=report(
            directory(f"{RUN}/report"),
            htmlindex="index.html",
            caption="../report/vetting_report.rst",
            category="Candidates",
        ),
    log:
        f"{LOGS}/report.log",
    conda:
        "../../envs/report.yaml"
    params:
        options=options("report"),
    shell:
        "python -m transitflow report --vetting {input.vetting} --sheets {input.sheets}"
        " --failed {input.failed}"
        " --scores {input.scores} --flag-summary {input.flag_summary} --stars {input.stars}"
        " --ledger {input.ledger} --truth {input.truth} --split '{input.split}'"
        " --model-card '{input.card}'"
        " --known-tois '{input.known_tois}' --known-ebs '{input.known_ebs}'"
        " --figures {input.figures}"
        " --completeness '{input.completeness}' --injections '{input.injections}'"
        " --out-csv {output.csv} --out-parquet {output.parquet} --out-ctoi {output.ctoi}"
        " --out-dir {output.html} --options {params.options} 2> {log}"

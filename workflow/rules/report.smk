rule report:
    input:
        vetting=per_shard(f"{RUN}/vet/vetting/{{shard}}.parquet"),
        sheets=per_shard(f"{RUN}/vet/sheets/{{shard}}"),
        failed=per_shard(
            [
                f"{RUN}/search/failed/{{shard}}.parquet",
                f"{RUN}/vet/failed/{{shard}}.parquet",
            ]
        ),
        scores=f"{RUN}/infer/scores.parquet",
        flag_summary=f"{RUN}/infer/flag_summary.json",
        stars=f"{RUN}/data/stars.parquet",
        ledger=f"{RUN}/data/ledger.parquet",
        truth=f"{RUN}/data/truth.parquet",
        split=f"{RUN}/split/split.parquet" if TRAINS else [],
        card=model_card(),
        known_tois=catalog_file("known_tois", config["known_tois"]) or [],
        known_ebs=catalog_file("known_ebs", config["known_ebs"]) or [],
        known_ebs_readme=catalog_readme("known_ebs"),
        completeness=(
            f"{RUN}/completeness/completeness.json" if MEASURES_COMPLETENESS else []
        ),
        figures=(
            []
            if not TRAINS
            else [
                f"{RUN}/model/training_curves.png",
                f"{RUN}/model/confusion_matrix.png",
                f"{RUN}/model/calibration.png",
            ]
        )
        + ([f"{RUN}/completeness/completeness.png"] if MEASURES_COMPLETENESS else []),
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
        " --completeness '{input.completeness}'"
        " --out-csv {output.csv} --out-parquet {output.parquet} --out-ctoi {output.ctoi}"
        " --out-dir {output.html} --options {params.options} 2> {log}"

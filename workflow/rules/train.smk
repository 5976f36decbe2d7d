rule train:
    input:
        shards=per_shard(rules.ingest.output.shard),
        labels=rules.labels.output.labels,
        split=rules.split.output.split,
        detections=per_shard(DETECTIONS) if LOCAL_VIEWS else [],
    output:
        model=f"{RUN}/model/model.pt",
        card=f"{RUN}/model/model_card.json",
        curves=report(
            f"{RUN}/model/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
        ),
        confusion=report(
            f"{RUN}/model/confusion_matrix.png",
            caption="../report/confusion_matrix.rst",
            category="Training",
        ),
        calibration=report(
            f"{RUN}/model/calibration.png",
            caption="../report/calibration.rst",
            category="Training",
        ),
    log:
        f"{LOGS}/train.log",
    conda:
        "../../envs/train.yaml"
    threads: train_cores()
    resources:
        throughput=THROUGHPUT["train"],
    params:
        options=options("train", seed=config["seed"]),
        launcher=train_launcher(),
        out_dir=lambda wildcards, output: Path(output.model).parent,
    shell:
        "{params.launcher} -m transitflow train --shards {input.shards} --labels {input.labels} --split {input.split}"
        " --detections {input.detections}"
        " --options {params.options} --throughput {resources.throughput}"
        " --out-dir {params.out_dir} 2> {log}"

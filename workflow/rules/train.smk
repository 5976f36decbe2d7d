rule train:
    input:
        shards=per_shard(f"{RUN}/data/shards/{{shard}}.arrow"),
        stars=f"{RUN}/data/stars.parquet",
        split=f"{RUN}/split/split.parquet",
    output:
        model=f"{RUN}/model/model.pt",
        card=f"{RUN}/model/model_card.json",
        curves=f"{RUN}/model/training_curves.png",
        confusion=f"{RUN}/model/confusion_matrix.png",
    log:
        f"{LOGS}/train.log",
    conda:
        "../../envs/train.yaml"
    threads: 2
    params:
        options=options("train", seed=config["seed"]),
        out_dir=lambda wildcards, output: Path(output.model).parent,
    shell:
        "python -m transitflow train --shards {input.shards} --stars {input.stars} --split {input.split}"
        " --options {params.options} --out-dir {params.out_dir} 2> {log}"

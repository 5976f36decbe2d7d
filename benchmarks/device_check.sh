#!/usr/bin/env bash
# The GPU checks in one run on a GPU machine with PyTorch and no internet: the GPU tests, the
# batched search and the scoring on the GPU against the CPU, training steps per second, and
# with the stage `train` the default network and the paper's transformer (shortened) trained
# on the default simulated sector. From the repository root there, with the .whl folder that
# `bash benchmarks/device_wheels.sh` filled (where PyPI is reachable) in that root:
#     bash benchmarks/device_check.sh                 # the stages tests search score steps
#     bash benchmarks/device_check.sh train
# The log goes to $OUT/device_check.log (or ./device-check/); figures go to
# docs/benchmarks.md, section GPU, with the machine that the log names. To try the script on
# the CPU first: DEVICE=cpu PYTHON=.venv/bin/python WHEELS= bash benchmarks/device_check.sh
set -uo pipefail
out=${OUT:-device-check} device=${DEVICE:-cuda} python=${PYTHON:-python3} wheels=${WHEELS-.whl}
mkdir -p "$out"
if [ -n "$wheels" ]; then
    $python -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$wheels"/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:$PWD/src:$PWD PYTHONUNBUFFERED=1 MPLBACKEND=Agg
stages=${*:-tests search score steps}
run=/tmp/device-run

stage() {
    echo "== $1 ($(date -u +%T))"
    case $1 in
    tests)
        $python -m pytest -q -p no:cacheprovider -m gpu tests/detect/test_detect.py \
            tests/test_infer.py tests/training/test_train.py ;;
    search)
        $python benchmarks/detect_benchmark.py --n 100 --cadences 30 --tls 1 --device "$device" \
            --throughput 16384 --batch-size 16384 ;;
    score)
        $python benchmarks/infer_benchmark.py --cadence 30 --n 2000 --preset cnn --repeat 3 \
            --device "$device" --batch-size 2048 ;;
    steps)
        $python benchmarks/train_benchmark.py --n 500 --workers 8 --seconds 2 --device "$device" \
            --batch-size 256 --presets cnn paper-L4 ;;
    train)
        default_sector "$run" && train "$run/model-default" \
            '{"batch_size": 64, "ensemble": 4, "epochs": 12, "lr": 0.002, "missing_channels": 0.1, "eclipse_injection_fraction": 0.1, "features": {"local_length": 64, "local_normalization": "robust_clip"}, "model": "cnn", "seed": 42, "steps_per_epoch": 60, "device": "'"$device"'"}' &&
        train "$run/model-paper" \
            '{"preset": "paper-L4", "model": "transformer-paper", "epochs": 10, "steps_per_epoch": 100, "batch_size": 256, "lr": 0.001, "ensemble": 1, "missing_channels": 0.0, "seed": 42, "device": "'"$device"'"}' ;;
    *)
        echo "unknown stage $1 (tests, search, score, steps, train)"; return 1 ;;
    esac
}

default_sector() {  # the default config's simulated sector, its labels and split, as the workflow makes them
    local data=$1/data sim='{"cadence_min": 30.0, "n_stars": 2000, "sector": 1, "seed": 42}'
    mkdir -p "$data"
    local jobs=()
    for shard in 0 1 2 3; do
        $python -m transitflow ingest --source sim --start $((shard * 500)) \
            --stop $((shard * 500 + 500)) --options "$sim" --throughput '{}' \
            --shard "$data/$shard.arrow" --stars "$data/stars$shard.parquet" \
            --ledger "$data/ledger$shard.parquet" --truth "$data/truth$shard.parquet" &
        jobs+=($!)
    done
    for job in "${jobs[@]}"; do wait "$job" || return 1; done
    for shard in 0 1 2 3; do  # the batched search: the ephemerides of the local views
        $python -m transitflow detect --shard "$data/$shard.arrow" --out "$data/detect$shard.parquet" || return 1
    done
    $python -m transitflow collect --stars "$data"/stars?.parquet --ledgers "$data"/ledger?.parquet \
        --truths "$data"/truth?.parquet --out-stars "$data/stars.parquet" \
        --out-ledger "$data/ledger.parquet" --out-truth "$data/truth.parquet" \
        --out-quarantine "$data/quarantine.csv" &&
    $python -m transitflow labels --stars "$data/stars.parquet" --shards "$data"/?.arrow \
        --options '{"include_pc": false, "tess_ebs": "", "toi_table": "", "yu2019": ""}' \
        --out "$data/labels.parquet" --report "$data/label_report.json" &&
    $python -m transitflow split --labels "$data/labels.parquet" \
        --options '{"seed": 42, "test": 0.1, "train": 0.8, "val": 0.1}' \
        --out "$data/split.parquet" --report "$data/split_report.json"
}

train() {  # one training on the GPU: wall time and the card's test ROC-AUC
    local started=$SECONDS
    $python -m transitflow train --shards "$run"/data/?.arrow --labels "$run/data/labels.parquet" \
        --split "$run/data/split.parquet" --detections "$run"/data/detect?.parquet \
        --options "$2" --throughput '{"num_workers": 7}' \
        --out-dir "$1" || return 1
    $python -c "import json, sys; card = json.load(open(sys.argv[1])); print(sys.argv[2], \
'wall', sys.argv[3], 's, test ROC-AUC', round(card['metrics']['test']['roc_auc'], 4), \
'device', card['device'])" "$1/model_card.json" "$(basename "$1")" $((SECONDS - started))
}

{
    nvidia-smi -L || echo "no nvidia-smi: $device"
    $python -c "import torch; print('torch', torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name())"
    failed=""
    for name in $stages; do
        stage "$name" || { echo "== $name FAILED"; failed="$failed $name"; }
    done
    echo "== done ($(date -u +%T))${failed:+, failed:$failed}"
    [ -z "$failed" ]
} 2>&1 | tee "$out/device_check.log"

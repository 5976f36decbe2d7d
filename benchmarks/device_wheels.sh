#!/usr/bin/env bash
# The wheels that the GPU machine's image lacks, into .whl/ (ignored by git), for
# benchmarks/device_check.sh. Run where PyPI is reachable, from the repository root:
#     bash benchmarks/device_wheels.sh
# That image has Python 3.12 with torch, numba, numpy, pandas, pyarrow, matplotlib, pyyaml,
# tqdm and pytest; the versions below are this project's pins (constraints.txt).
set -euo pipefail
packages=(astropy astropy-iers-data pyerfa Bottleneck batman-package wotan transitleastsquares)
platforms=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64
           manylinux1_x86_64)
mkdir -p .whl
for name in "${packages[@]}"; do
    pin=$(grep -i "^${name}==" constraints.txt)
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp "${platforms[@]/#/--platform=}" -d .whl "$pin"
done
du -sh .whl

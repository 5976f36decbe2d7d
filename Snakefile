"""transitflow: find and vet transiting exoplanets in TESS light curves.

snakemake --cores 2                      # the default: a simulated sector
snakemake --cores 2 --config source=local "local_glob=lcs/**/*.fits" model=model.pt run=myrun
"""

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/detect.smk"
include: "workflow/rules/infer.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/vet.smk"
include: "workflow/rules/completeness.smk"
include: "workflow/rules/report.smk"


onsuccess:
    from transitflow.run_summary import run_summary

    for line in run_summary(RUN):
        print(line)


rule all:
    input:
        f"{RUN}/candidates.csv",
        f"{RUN}/candidates.parquet",
        f"{RUN}/report",

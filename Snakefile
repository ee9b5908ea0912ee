from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/av_data.smk"
include: "rules/advgan.smk"
include: "rules/stego.smk"
include: "rules/imgstego.smk"
include: "rules/avdetect.smk"
include: "rules/rehearsal.smk"


rule all:
    input:
        final_outputs(),


# One paper at a time, with only its corpora: `snakemake --profile slurm advgan`.
rule stego:
    input:
        paper_outputs("stego"),


rule advgan:
    input:
        paper_outputs("advgan"),


rule imgstego:
    input:
        paper_outputs("imgstego"),


rule avdetect:
    input:
        paper_outputs("avdetect"),

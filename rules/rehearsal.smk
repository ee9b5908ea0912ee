# The paper-scale rehearsal (avsec.rehearsal; README, "Paper scale: rehearse first"): every paper-scale job kind
# that trains or attacks, a few steps each at the paper preset's widths on random data of the prepared shapes,
# then the cost plan. `snakemake --cores all rehearsal` (or --profile slurm: each job on the node it will run on).

from avsec.rehearsal.jobs import JOBS as REHEARSAL_JOBS

PAPER_RESOURCES = config["scales"]["paper"]["resources"]


wildcard_constraints:
    job="|".join(config["rehearsal"]["jobs"]),


rule rehearsal:
    input:
        "results/rehearsal/cost.md",


rule rehearsal_data:
    output:
        directory("results/rehearsal/data"),
    log:
        "results/logs/rehearsal/data.log",
    benchmark:
        "results/benchmarks/rehearsal/data.tsv"
    conda:
        "../envs/av.yaml"
    resources:
        runtime=30,
        mem_mb=2000,
    shell:
        "python -m avsec.rehearsal data --out {output} --log {log}"


rule rehearse:
    input:
        "results/rehearsal/data",
    output:
        "results/rehearsal/{job}.json",
    log:
        "results/logs/rehearsal/{job}.log",
    benchmark:
        "results/benchmarks/rehearsal/{job}.tsv"
    conda:
        "../envs/av.yaml"
    threads: PAPER_RESOURCES["threads"]
    resources:
        gpu=PAPER_RESOURCES["gpu"],
        runtime=60,
        mem_mb=lambda wildcards: PAPER_RESOURCES["mem_mb"][
            REHEARSAL_JOBS[wildcards.job].rule
        ],
    params:
        steps=config["rehearsal"]["steps"],
    shell:
        "python -m avsec.rehearsal run --job {wildcards.job} --data {input} --out {output} --steps {params.steps}"
        " --log {log}"


rule rehearsal_cost:
    input:
        expand("results/rehearsal/{job}.json", job=config["rehearsal"]["jobs"]),
    output:
        md="results/rehearsal/cost.md",
        tsv="results/rehearsal/cost.tsv",
    log:
        "results/logs/rehearsal/cost.log",
    benchmark:
        "results/benchmarks/rehearsal/cost.tsv"
    conda:
        "../envs/av.yaml"
    resources:
        runtime=10,
        mem_mb=1000,
    shell:
        "python -m avsec.rehearsal cost --out results/rehearsal --log {log}"

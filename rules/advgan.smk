# Paper 2, SpeechAdvGan: victims → one generator per entry of scales.<scale>.advgan.generators → evaluations,
# baselines → report. Rerun one generator: see README ("Rerun one generator").

from avsec.advgan.names import FIGURE7_GENETIC, figure7_clip, report_inputs

# The clip the report's Figure 7 shows, named from the scale's generators and the victims' labels
FIGURE7_CLIP = figure7_clip(
    SCALE["advgan"]["generators"],
    {victim: SCALE["advgan"]["victims"][victim]["labels"] for victim in VICTIMS},
)

# Section D's loss ablation (advgan.ablation): the variants' runs, and the figures' folder report_advgan reads
ABLATION = config["advgan"]["ablation"]
ABLATION_RUN = f"results/advgan/{ABLATION['victim']}/ablation"
ABLATION_DIR = "results/advgan/ablation"


rule train_victim:
    input:
        data=lambda wildcards: victim_data(wildcards.victim),
    output:
        model="results/advgan/{victim}/victim.pt",
        metrics="results/advgan/{victim}/victim.json",
        history="results/advgan/{victim}/victim_history.csv",
    log:
        "results/logs/advgan/{victim}/train_victim.log",
    benchmark:
        "results/benchmarks/advgan/{victim}/train_victim.tsv"
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "train_victim"),
        mem_mb=scale_resource("mem_mb", "train_victim"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=lambda wildcards: victim_settings(wildcards.victim),
    shell:
        "python workflow/scripts/train_victim.py --victim {wildcards.victim} --data {input.data}"
        " --out {output.model} --history {output.history} --metrics {output.metrics} --seed {params.seed} --threads {params.threads}"
        " {params.settings} --log {log}"


rule train_generator:
    input:
        data=lambda wildcards: victim_data(wildcards.victim),
        victim="results/advgan/{victim}/victim.pt",
    output:
        model="results/advgan/{victim}/{generator}/generator.pt",
        history="results/advgan/{victim}/{generator}/generator_history.csv",
    log:
        "results/logs/advgan/{victim}/{generator}/train_generator.log",
    benchmark:
        "results/benchmarks/advgan/{victim}/{generator}/train_generator.tsv"
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "train_generator"),
        mem_mb=scale_resource("mem_mb", "train_generator"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=flags(config["advgan"]["generator"], SCALE["advgan"]["generator"]),
    shell:
        "python workflow/scripts/train_generator.py --generator {wildcards.generator} --victim {input.victim}"
        " --data {input.data} --out {output.model} --history {output.history} --seed {params.seed}"
        " --threads {params.threads} {params.settings} --log {log}"


rule evaluate_generator:
    input:
        data=lambda wildcards: victim_data(wildcards.victim),
        victim="results/advgan/{victim}/victim.pt",
        generator="results/advgan/{victim}/{generator}/generator.pt",
    output:
        metrics="results/advgan/{victim}/{generator}/eval.json",
        examples=directory("results/advgan/{victim}/{generator}/examples"),
    log:
        "results/logs/advgan/{victim}/{generator}/evaluate_generator.log",
    benchmark:
        "results/benchmarks/advgan/{victim}/{generator}/evaluate_generator.tsv"
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "evaluate_generator"),
        mem_mb=scale_resource("mem_mb", "evaluate_generator"),
    params:
        threads=SCALE["resources"]["threads"],
        settings=flags(config["advgan"]["evaluate"], SCALE["advgan"]["evaluate"]),
    shell:
        "python workflow/scripts/evaluate_generator.py --generator {input.generator} --victim {input.victim}"
        " --data {input.data} --out {output.metrics} --examples-dir {output.examples} --threads {params.threads}"
        " {params.settings} --log {log}"


rule attack_baseline:
    input:
        data=lambda wildcards: victim_data(wildcards.victim),
        victim="results/advgan/{victim}/victim.pt",
    output:
        metrics="results/advgan/{victim}/baselines/{method}.json",
        examples=directory("results/advgan/{victim}/baselines/{method}_examples"),
    log:
        "results/logs/advgan/{victim}/baselines/{method}.log",
    benchmark:
        "results/benchmarks/advgan/{victim}/baselines/{method}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "attack_baseline"),
        mem_mb=scale_resource("mem_mb", "attack_baseline"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=lambda wildcards: flags(
            config["advgan"]["baselines"][wildcards.method],
            SCALE["advgan"]["baselines"],
        ),
    shell:
        "python workflow/scripts/attack_baseline.py --method {wildcards.method} --victim {input.victim}"
        " --data {input.data} --out {output.metrics} --examples-dir {output.examples} --seed {params.seed}"
        " --threads {params.threads} {params.settings} --log {log}"


rule attack_figure7:
    input:
        # the victims' labels (victim.json) name the clip (avsec.advgan.names.figure7_clip, in the script too)
        victims=[
            f"results/advgan/{victim}/victim.json"
            for victim in SCALE["advgan"]["generators"]
        ],
        victim=FIGURE7_CLIP["victim_ckpt"],
        examples=FIGURE7_CLIP["examples"],
    output:
        metrics=FIGURE7_GENETIC["json"],
        wav=FIGURE7_GENETIC["wav"],
    log:
        "results/logs/advgan/attack_figure7.log",
    benchmark:
        "results/benchmarks/advgan/attack_figure7.tsv"
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "attack_figure7"),
        mem_mb=scale_resource("mem_mb", "attack_figure7"),
    params:
        generators=flags(SCALE["advgan"]["generators"]),
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=flags(
            config["advgan"]["baselines"]["genetic"],
            {"iterations": SCALE["advgan"]["baselines"]["iterations"]},
        ),
    shell:
        "python workflow/scripts/attack_figure7.py {params.generators} --out {output.metrics} --wav {output.wav}"
        " --seed {params.seed} --threads {params.threads} {params.settings} --log {log}"


rule report_advgan:
    input:
        # the victims, evaluations and baselines of the scale's generators: the files the script reads, named from
        # the same mapping by the same function (avsec.advgan.names.report_inputs)
        **report_inputs(SCALE["advgan"]["generators"]),
        figure7=FIGURE7_GENETIC["json"],
        figure7_wav=FIGURE7_GENETIC["wav"],
        ablation=ABLATION_DIR,
        deviations="docs/deviations.yaml",
        config="config.yaml",
    output:
        paper_report("advgan"),
    log:
        "results/logs/advgan/report_advgan.log",
    benchmark:
        "results/benchmarks/advgan/report_advgan.tsv"
    conda:
        "../envs/torch.yaml"
    resources:
        runtime=30,
        mem_mb=scale_resource("mem_mb", "report_advgan"),
    params:
        generators=flags(SCALE["advgan"]["generators"]),
        scale=SCALE["name"],
    shell:
        "python workflow/scripts/report_advgan.py {params.generators} --out {output} --deviations {input.deviations} --config {input.config} --scale {params.scale}"
        " --figure7 {input.figure7} --ablation {input.ablation}"
        " --log {log}"


# ---- Section D: the loss ablation (Figures 8-9): one generator per variant of advgan.ablation.variants ----------
rule train_ablation:
    input:
        data=victim_data(ABLATION["victim"]),
        victim=f"results/advgan/{ABLATION['victim']}/victim.pt",
    output:
        model=f"{ABLATION_RUN}/{{variant}}/generator.pt",
        history=f"{ABLATION_RUN}/{{variant}}/generator_history.csv",
    log:
        f"results/logs/advgan/{ABLATION['victim']}/ablation/{{variant}}/train_generator.log",
    benchmark:
        f"results/benchmarks/advgan/{ABLATION['victim']}/ablation/{{variant}}/train_generator.tsv"
    wildcard_constraints:
        variant="|".join(ABLATION["variants"]),
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "train_ablation"),
        mem_mb=scale_resource("mem_mb", "train_ablation"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        generator=ABLATION["generator"],
        settings=flags(config["advgan"]["generator"], SCALE["advgan"]["generator"]),
        variant=lambda wildcards: flags(
            ABLATION["variants"][wildcards.variant],
            ABLATION["train"],
            SCALE["advgan"]["ablation"],
        ),
    shell:
        "python workflow/scripts/train_generator.py --generator {params.generator} --victim {input.victim}"
        " --data {input.data} --out {output.model} --history {output.history} --seed {params.seed}"
        " --threads {params.threads} {params.settings} --ablation {params.variant} --log {log}"


rule ablation_advgan:
    input:
        data=victim_data(ABLATION["victim"]),
        victim=f"results/advgan/{ABLATION['victim']}/victim.pt",
        models=expand(
            f"{ABLATION_RUN}/{{variant}}/generator.pt", variant=ABLATION["variants"]
        ),
        histories=expand(
            f"{ABLATION_RUN}/{{variant}}/generator_history.csv",
            variant=ABLATION["variants"],
        ),
    output:
        directory(ABLATION_DIR),
    log:
        "results/logs/advgan/ablation_advgan.log",
    benchmark:
        "results/benchmarks/advgan/ablation_advgan.tsv"
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=30,
        mem_mb=scale_resource("mem_mb", "ablation_advgan"),
    params:
        runs=expand(f"{ABLATION_RUN}/{{variant}}", variant=ABLATION["variants"]),
        threads=SCALE["resources"]["threads"],
        settings=flags(ABLATION["figure"]),
    shell:
        "python workflow/scripts/ablation_advgan.py --runs {params.runs} --victim {input.victim} --data {input.data}"
        " --out {output} --threads {params.threads} {params.settings} --log {log}"

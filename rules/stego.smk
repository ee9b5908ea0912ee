# Paper 1, GAN audio-in-audio steganography: one encoder/decoder/steganalyzer triple per dataset and entry of
# scales.<scale>.stego.runs (<analyzer>_<channel>) → evaluation (Tables 2, 3); security experiment per dataset and
# method (Table 4) → report (results/stego/report).


rule train_stego:
    input:
        data="results/prep/{dataset}",
    output:
        model="results/stego/{dataset}/{run}/model.pt",
        history="results/stego/{dataset}/{run}/model_history.csv",
    log:
        "results/logs/stego/{dataset}/{run}/train_stego.log",
    benchmark:
        "results/benchmarks/stego/{dataset}/{run}/train_stego.tsv"
    wildcard_constraints:
        dataset=STEGO_DATASET,
        run=STEGO_RUN,
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "train_stego"),
        mem_mb=scale_resource("mem_mb", "train_stego"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=lambda wildcards: stego_train_settings(wildcards.dataset),
    shell:
        "python workflow/scripts/train_stego.py --run {wildcards.run} --data {input.data} --out {output.model}"
        " --history {output.history} --seed {params.seed} --threads {params.threads} {params.settings} --log {log}"


rule evaluate_stego:
    input:
        data="results/prep/{dataset}",
        model="results/stego/{dataset}/{run}/model.pt",
    output:
        metrics="results/stego/{dataset}/{run}/eval.json",
        examples=directory("results/stego/{dataset}/{run}/examples"),
    log:
        "results/logs/stego/{dataset}/{run}/evaluate_stego.log",
    benchmark:
        "results/benchmarks/stego/{dataset}/{run}/evaluate_stego.tsv"
    wildcard_constraints:
        dataset=STEGO_DATASET,
        run=STEGO_RUN,
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "evaluate_stego"),
        mem_mb=scale_resource("mem_mb", "evaluate_stego"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=flags(config["stego"]["evaluate"], SCALE["stego"]["evaluate"]),
    shell:
        "python workflow/scripts/evaluate_stego.py --model {input.model} --data {input.data}"
        " --out {output.metrics} --examples-dir {output.examples} --seed {params.seed}"
        " --threads {params.threads} {params.settings} --log {log}"


rule security_stego:
    input:
        data="results/prep/{dataset}",
        model=lambda wildcards: stego_security_model(wildcards.dataset),
    output:
        "results/stego/{dataset}/security/gan.json",
    log:
        "results/logs/stego/{dataset}/security/gan.log",
    benchmark:
        "results/benchmarks/stego/{dataset}/security/gan.tsv"
    wildcard_constraints:
        dataset=STEGO_DATASET,
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "security_stego"),
        mem_mb=scale_resource("mem_mb", "security_stego"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=lambda wildcards: stego_security_settings(wildcards.dataset),
    shell:
        "python workflow/scripts/steganalysis_stego.py --method gan --model {input.model} --data {input.data}"
        " --out {output} --seed {params.seed} --threads {params.threads} {params.settings} --log {log}"


rule security_baseline_stego:
    input:
        data="results/prep/{dataset}",
    output:
        "results/stego/{dataset}/security/{baseline}.json",
    log:
        "results/logs/stego/{dataset}/security/{baseline}.log",
    benchmark:
        "results/benchmarks/stego/{dataset}/security/{baseline}.tsv"
    wildcard_constraints:
        dataset=STEGO_DATASET,
        baseline=STEGO_BASELINE,
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "security_stego"),
        mem_mb=scale_resource("mem_mb", "security_baseline_stego"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=lambda wildcards: stego_security_settings(
            wildcards.dataset, wildcards.baseline
        ),
    shell:
        "python workflow/scripts/steganalysis_stego.py --method {wildcards.baseline} --data {input.data}"
        " --out {output} --seed {params.seed} --threads {params.threads} {params.settings} --log {log}"


rule report_stego:
    input:
        # every run's eval.json, every dataset's security results and prepared directory: the files the script
        # reads, named from the same runs mapping by the same function (avsec.stego.names.report_inputs)
        **stego_report_files(SCALE["stego"]["runs"]),
        deviations="docs/deviations.yaml",
        config="config.yaml",
    output:
        paper_report("stego"),
    log:
        "results/logs/stego/report_stego.log",
    benchmark:
        "results/benchmarks/stego/report_stego.tsv"
    conda:
        "../envs/torch.yaml"
    resources:
        runtime=30,
        mem_mb=scale_resource("mem_mb", "report_stego"),
    params:
        runs=flags(SCALE["stego"]["runs"]),
        scale=SCALE["name"],
    shell:
        "python workflow/scripts/report_stego.py {params.runs} --out {output} --deviations {input.deviations} --config {input.config} --scale {params.scale}"
        " --log {log}"

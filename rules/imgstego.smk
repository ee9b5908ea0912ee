# Paper 3, hiding images in speech spectrograms: one hiding/reveal model per entry of imgstego.variants
# (base, ssim) → the U-Net enhancer on the ssim model's revealed RGB images → evaluations (base, ssim,
# enhanced: the table's columns) → report.


rule train_imgstego:
    input:
        timit="results/prep/timit",
        voc="results/prep/voc",
    output:
        model="results/imgstego/{variant}/model.pt",
        history="results/imgstego/{variant}/model_history.csv",
    log:
        "results/logs/imgstego/{variant}/train_imgstego.log",
    benchmark:
        "results/benchmarks/imgstego/{variant}/train_imgstego.tsv"
    wildcard_constraints:
        variant="|".join(IMGSTEGO_VARIANTS),
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "train_imgstego"),
        mem_mb=scale_resource("mem_mb", "train_imgstego"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=lambda wildcards: imgstego_settings(wildcards.variant),
    shell:
        "python workflow/scripts/train_imgstego.py --variant {wildcards.variant} --timit {input.timit}"
        " --voc {input.voc} --out {output.model} --history {output.history} --seed {params.seed}"
        " --threads {params.threads} {params.settings} --log {log}"


rule train_enhancer:
    input:
        timit="results/prep/timit",
        voc="results/prep/voc",
        model="results/imgstego/ssim/model.pt",
    output:
        model="results/imgstego/enhancer.pt",
        history="results/imgstego/enhancer_history.csv",
    log:
        "results/logs/imgstego/train_enhancer.log",
    benchmark:
        "results/benchmarks/imgstego/train_enhancer.tsv"
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "train_enhancer"),
        mem_mb=scale_resource("mem_mb", "train_enhancer"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=flags(config["imgstego"]["enhancer"], SCALE["imgstego"]["enhancer"]),
    shell:
        "python workflow/scripts/train_enhancer.py --model {input.model} --timit {input.timit} --voc {input.voc}"
        " --out {output.model} --history {output.history} --seed {params.seed} --threads {params.threads}"
        " {params.settings} --log {log}"


rule evaluate_imgstego:
    input:
        timit="results/prep/timit",
        voc="results/prep/voc",
        model="results/imgstego/{variant}/model.pt",
    output:
        metrics="results/imgstego/{variant}/eval.json",
        examples=directory("results/imgstego/{variant}/examples"),
    log:
        "results/logs/imgstego/{variant}/evaluate_imgstego.log",
    benchmark:
        "results/benchmarks/imgstego/{variant}/evaluate_imgstego.tsv"
    wildcard_constraints:
        variant="|".join(IMGSTEGO_VARIANTS),
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "evaluate_imgstego"),
        mem_mb=scale_resource("mem_mb", "evaluate_imgstego"),
    params:
        threads=SCALE["resources"]["threads"],
        settings=flags(config["imgstego"]["evaluate"], SCALE["imgstego"]["evaluate"]),
    shell:
        "python workflow/scripts/evaluate_imgstego.py --model {input.model} --timit {input.timit} --voc {input.voc}"
        " --out {output.metrics} --examples-dir {output.examples} --threads {params.threads} {params.settings}"
        " --log {log}"


rule evaluate_enhanced:
    input:
        timit="results/prep/timit",
        voc="results/prep/voc",
        model="results/imgstego/ssim/model.pt",
        enhancer="results/imgstego/enhancer.pt",
    output:
        metrics="results/imgstego/enhanced/eval.json",
        examples=directory("results/imgstego/enhanced/examples"),
    log:
        "results/logs/imgstego/enhanced/evaluate_imgstego.log",
    benchmark:
        "results/benchmarks/imgstego/enhanced/evaluate_imgstego.tsv"
    conda:
        "../envs/torch.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "evaluate_imgstego"),
        mem_mb=scale_resource("mem_mb", "evaluate_enhanced"),
    params:
        threads=SCALE["resources"]["threads"],
        settings=flags(config["imgstego"]["evaluate"], SCALE["imgstego"]["evaluate"]),
    shell:
        "python workflow/scripts/evaluate_imgstego.py --model {input.model} --enhancer {input.enhancer}"
        " --timit {input.timit} --voc {input.voc} --out {output.metrics} --examples-dir {output.examples}"
        " --threads {params.threads} {params.settings} --log {log}"


rule report_imgstego:
    input:
        evaluations=expand(
            "results/imgstego/{column}/eval.json",
            column=(*IMGSTEGO_VARIANTS, "enhanced"),
        ),
        examples=expand(
            "results/imgstego/{column}/examples",
            column=(*IMGSTEGO_VARIANTS, "enhanced"),
        ),
        deviations="docs/deviations.yaml",
        config="config.yaml",
    output:
        paper_report("imgstego"),
    log:
        "results/logs/imgstego/report_imgstego.log",
    benchmark:
        "results/benchmarks/imgstego/report_imgstego.tsv"
    conda:
        "../envs/torch.yaml"
    resources:
        runtime=30,
        mem_mb=scale_resource("mem_mb", "report_imgstego"),
    params:
        scale=SCALE["name"],
    shell:
        "python workflow/scripts/report_imgstego.py --evaluations {input.evaluations} --examples {input.examples}"
        " --out {output} --deviations {input.deviations} --config {input.config} --scale {params.scale} --log {log}"

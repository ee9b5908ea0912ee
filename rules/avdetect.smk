# Paper 4, detecting adversarial attacks on audiovisual speech recognition: per corpus (LRW, GRID) a recogniser
# and a SyncNet → attacks (FGSM, BIM on LRW; C&W with CTC on GRID) scored by SyncNet confidence → detection
# measures per corpus → report (Tables 1-4, Figures 1(d) and 2, ROC curves, example videos); Figure 2's
# examples: one LRW test clip under BIM at the figure's ε, its mouth pasted back into the face (figure2_av).


rule train_av:
    input:
        mouths="results/av/{corpus}/mouths",
        audio="results/av/{corpus}/audio",
    output:
        model="results/avdetect/{corpus}/recogniser.pt",
        metrics="results/avdetect/{corpus}/recogniser.json",
        history="results/avdetect/{corpus}/recogniser_history.csv",
    log:
        "results/logs/avdetect/{corpus}/train_av.log",
    benchmark:
        "results/benchmarks/avdetect/{corpus}/train_av.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
    conda:
        "../envs/av.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "train_av"),
        mem_mb=scale_resource("mem_mb", "train_av"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=lambda wildcards: avdetect_recogniser_settings(wildcards.corpus),
    shell:
        "python workflow/scripts/train_av.py --corpus {wildcards.corpus} --mouths {input.mouths} --audio {input.audio} --out {output.model}"
        " --history {output.history} --metrics {output.metrics} --seed {params.seed} --threads {params.threads} {params.settings} --log {log}"


rule train_syncnet:
    input:
        mouths="results/av/{corpus}/mouths",
        audio="results/av/{corpus}/audio",
    output:
        model="results/avdetect/{corpus}/syncnet.pt",
        metrics="results/avdetect/{corpus}/syncnet.json",
        history="results/avdetect/{corpus}/syncnet_history.csv",
    log:
        "results/logs/avdetect/{corpus}/train_syncnet.log",
    benchmark:
        "results/benchmarks/avdetect/{corpus}/train_syncnet.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
    conda:
        "../envs/av.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "train_syncnet"),
        mem_mb=scale_resource("mem_mb", "train_syncnet"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        settings=flags(config["avdetect"]["syncnet"], SCALE["avdetect"]["syncnet"]),
    shell:
        "python workflow/scripts/train_syncnet.py --corpus {wildcards.corpus} --mouths {input.mouths} --audio {input.audio} --out {output.model}"
        " --history {output.history} --metrics {output.metrics} --seed {params.seed} --threads {params.threads} {params.settings} --log {log}"


rule attack_av:
    input:
        mouths="results/av/{corpus}/mouths",
        audio="results/av/{corpus}/audio",
        recogniser="results/avdetect/{corpus}/recogniser.pt",
        syncnet="results/avdetect/{corpus}/syncnet.pt",
    output:
        directory("results/avdetect/{corpus}/attacks/{method}/settings/{setting}"),
    log:
        "results/logs/avdetect/{corpus}/attack_av/{method}/{setting}.log",
    benchmark:
        "results/benchmarks/avdetect/{corpus}/attack_av/{method}/{setting}.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
        method="fgsm|bim|cw",
        setting=r"benign|(fgsm|bim|cw)_a\d+_v\d+(_[a-z]+)?",
    conda:
        "../envs/av.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "attack_av"),
        mem_mb=scale_resource("mem_mb", "attack_av"),
    params:
        threads=SCALE["resources"]["threads"],
        seed=config["seed"],
        vshift=config["avdetect"]["syncnet"]["vshift"],
        settings=lambda wildcards: avdetect_attack_settings(wildcards.method),
    shell:
        "python workflow/scripts/attack_av.py --method {wildcards.method} --setting {wildcards.setting}"
        " --mouths {input.mouths} --audio {input.audio} --recogniser {input.recogniser} --syncnet {input.syncnet}"
        " --out {output} --seed {params.seed} --threads {params.threads} --vshift {params.vshift}"
        " {params.settings} --log {log}"


rule gather_attack_av:
    input:
        lambda wildcards: avdetect_setting_jobs(wildcards.corpus, wildcards.method),
    output:
        results="results/avdetect/{corpus}/attacks/{method}/attack.json",
        examples=directory("results/avdetect/{corpus}/attacks/{method}/examples"),
    log:
        "results/logs/avdetect/{corpus}/gather_attack_av_{method}.log",
    benchmark:
        "results/benchmarks/avdetect/{corpus}/gather_attack_av_{method}.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
        method="fgsm|bim|cw",
    conda:
        "../envs/av.yaml"
    resources:
        runtime=scale_resource("runtime", "gather_attack_av"),
        mem_mb=scale_resource("mem_mb", "gather_attack_av"),
    params:
        folder="results/avdetect/{corpus}/attacks/{method}/settings",
        settings=lambda wildcards: avdetect_attack_settings(wildcards.method),
    shell:
        "python workflow/scripts/gather_attack_av.py --method {wildcards.method} --settings {params.folder}"
        " --out {output.results} --examples-dir {output.examples} {params.settings} --log {log}"


rule figure2_av:
    input:
        root=lambda wildcards: corpus_root(wildcards.corpus),
        mouths="results/av/{corpus}/mouths",
        audio="results/av/{corpus}/audio",
        recogniser="results/avdetect/{corpus}/recogniser.pt",
    output:
        directory("results/avdetect/{corpus}/figure2"),
    log:
        "results/logs/avdetect/{corpus}/figure2_av.log",
    benchmark:
        "results/benchmarks/avdetect/{corpus}/figure2_av.tsv"
    wildcard_constraints:
        corpus="lrw",
    conda:
        "../envs/av.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=SCALE["resources"]["gpu"],
        runtime=scale_resource("runtime", "figure2_av"),
        mem_mb=scale_resource("mem_mb", "figure2_av"),
    params:
        threads=SCALE["resources"]["threads"],
        settings=lambda wildcards: avdetect_figure2_settings(wildcards.corpus),
    shell:
        "python workflow/scripts/figure2_av.py --corpus {wildcards.corpus} --root {input.root} --mouths {input.mouths}"
        " --audio {input.audio} --recogniser {input.recogniser} --out {output} --threads {params.threads}"
        " {params.settings} --log {log}"


rule detect_av:
    input:
        attacks=lambda wildcards: avdetect_attack_results(wildcards.corpus),
    output:
        results="results/avdetect/{corpus}/detection.json",
        roc="results/avdetect/{corpus}/roc.csv",
    log:
        "results/logs/avdetect/{corpus}/detect_av.log",
    benchmark:
        "results/benchmarks/avdetect/{corpus}/detect_av.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
    conda:
        "../envs/av.yaml"
    resources:
        runtime=scale_resource("runtime", "detect_av"),
        mem_mb=scale_resource("mem_mb", "detect_av"),
    shell:
        "python workflow/scripts/detect_av.py --corpus {wildcards.corpus} --attacks {input.attacks}"
        " --out {output.results} --roc {output.roc} --log {log}"


rule report_avdetect:
    input:
        recognisers=expand(
            "results/avdetect/{corpus}/recogniser.json", corpus=AV_CORPORA
        ),
        syncnets=expand("results/avdetect/{corpus}/syncnet.json", corpus=AV_CORPORA),
        detections=expand("results/avdetect/{corpus}/detection.json", corpus=AV_CORPORA),
        examples=[
            f"results/avdetect/{corpus}/attacks/{method}/examples"
            for corpus in AV_CORPORA
            for method in AVDETECT_ATTACKS[corpus]
        ],
        figure2=expand("results/avdetect/{corpus}/figure2", corpus=AVDETECT_FIGURE2),
        deviations="docs/deviations.yaml",
        config="config.yaml",
    output:
        paper_report("avdetect"),
    log:
        "results/logs/avdetect/report_avdetect.log",
    benchmark:
        "results/benchmarks/avdetect/report_avdetect.tsv"
    conda:
        "../envs/av.yaml"
    resources:
        runtime=30,
        mem_mb=scale_resource("mem_mb", "report_avdetect"),
    params:
        scale=SCALE["name"],
    shell:
        "python workflow/scripts/report_avdetect.py --recognisers {input.recognisers} --syncnets {input.syncnets}"
        " --detections {input.detections} --examples {input.examples} --figure2 {input.figure2} --out {output} --deviations {input.deviations} --config {input.config} --scale {params.scale}"
        " --log {log}"

rule synth_corpus:
    output:
        directory("results/synth/{corpus}"),
    log:
        "results/logs/synth_corpus/{corpus}.log",
    benchmark:
        "results/benchmarks/synth_corpus/{corpus}.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        runtime=30,
        mem_mb=scale_resource("mem_mb", "synth_corpus"),
    params:
        seed=config["seed"],
        sizes=lambda wildcards: flags(SCALE["synthesize"][wildcards.corpus]),
    shell:
        "python workflow/scripts/synth_corpus.py --corpus {wildcards.corpus} --seed {params.seed}"
        " --out {output} {params.sizes} --log {log}"


rule prepare_corpus:
    input:
        root=lambda wildcards: corpus_root(wildcards.corpus),
    output:
        directory("results/prep/{corpus}"),
    log:
        "results/logs/prepare_corpus/{corpus}.log",
    benchmark:
        "results/benchmarks/prepare_corpus/{corpus}.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        runtime=120,
        mem_mb=scale_resource("mem_mb", "prepare_corpus"),
    params:
        seed=config["seed"],
        settings=lambda wildcards: prep_settings(wildcards.corpus),
    shell:
        "python workflow/scripts/prepare_corpus.py --corpus {wildcards.corpus} --root {input.root}"
        " --out {output} --seed {params.seed} {params.settings} --log {log}"


rule extract_stft:
    input:
        data=lambda wildcards: f"results/prep/{config['features'][wildcards.feature]['input']}",
    output:
        directory("results/features/{feature}"),
    log:
        "results/logs/extract_stft/{feature}.log",
    benchmark:
        "results/benchmarks/extract_stft/{feature}.tsv"
    conda:
        "../envs/torch.yaml"
    resources:
        runtime=60,
        mem_mb=scale_resource("mem_mb", "extract_stft"),
    params:
        stft=lambda wildcards: flags(config["features"][wildcards.feature]["stft"]),
    shell:
        "python workflow/scripts/extract_stft.py --data {input.data} --out {output} {params.stft} --log {log}"

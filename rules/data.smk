rule synth_corpus:
    output:
        directory("results/synth/{corpus}"),
    params:
        sizes=lambda wildcards: flags(SCALE["synthesize"][wildcards.corpus]),
    log:
        "results/logs/synth_corpus/{corpus}.log",
    benchmark:
        "results/benchmarks/synth_corpus/{corpus}.tsv"
    resources:
        runtime=30,
        mem_mb=4000,
    conda:
        "../envs/data.yaml"
    shell:
        "python workflow/scripts/synth_corpus.py --corpus {wildcards.corpus} --seed {config[seed]}"
        " --out {output} {params.sizes} --log {log}"


rule prepare_corpus:
    input:
        root=lambda wildcards: corpus_root(wildcards.corpus),
    output:
        directory("results/prep/{corpus}"),
    params:
        settings=lambda wildcards: prep_settings(wildcards.corpus),
    log:
        "results/logs/prepare_corpus/{corpus}.log",
    benchmark:
        "results/benchmarks/prepare_corpus/{corpus}.tsv"
    resources:
        runtime=120,
        mem_mb=8000,
    conda:
        "../envs/data.yaml"
    shell:
        "python workflow/scripts/prepare_corpus.py --corpus {wildcards.corpus} --root {input.root}"
        " --out {output} --seed {config[seed]} {params.settings} --log {log}"


rule extract_stft:
    input:
        data=lambda wildcards: f"results/prep/{config['features'][wildcards.feature]['input']}",
    output:
        directory("results/features/{feature}"),
    params:
        stft=lambda wildcards: flags(config["features"][wildcards.feature]["stft"]),
    log:
        "results/logs/extract_stft/{feature}.log",
    benchmark:
        "results/benchmarks/extract_stft/{feature}.tsv"
    resources:
        runtime=60,
        mem_mb=8000,
    conda:
        "../envs/torch.yaml"
    shell:
        "python workflow/scripts/extract_stft.py --data {input.data} --out {output} {params.stft} --log {log}"

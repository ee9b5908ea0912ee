# Paper 4's audiovisual preparation of GRID and LRW: landmarks -> mean face -> mouth crops; audio features.


rule detect_landmarks:
    input:
        root=lambda wildcards: corpus_root(wildcards.corpus),
    output:
        directory("results/av/{corpus}/landmarks"),
    log:
        "results/logs/detect_landmarks/{corpus}.log",
    benchmark:
        "results/benchmarks/detect_landmarks/{corpus}.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
    conda:
        "../envs/torch.yaml"
    resources:
        gpu=int(config["av"]["landmarks"]["backend"] == "face_alignment"),
        runtime=240,
        mem_mb=scale_resource("mem_mb", "detect_landmarks"),
    params:
        settings=lambda wildcards: av_settings(wildcards.corpus, "landmarks"),
    shell:
        "python workflow/scripts/prepare_av.py landmarks --corpus {wildcards.corpus} --root {input.root}"
        " --out {output} {params.settings} --log {log}"


rule mean_face:
    input:
        "results/av/{corpus}/landmarks",
    output:
        "results/av/{corpus}/mean_face.npy",
    log:
        "results/logs/mean_face/{corpus}.log",
    benchmark:
        "results/benchmarks/mean_face/{corpus}.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
    conda:
        "../envs/data.yaml"
    resources:
        runtime=30,
        mem_mb=scale_resource("mem_mb", "mean_face"),
    params:
        size=config["av"]["mouth"]["face_size"],
    shell:
        "python workflow/scripts/prepare_av.py mean_face --landmarks {input} --out {output} --size {params.size}"
        " --log {log}"


rule crop_mouths:
    input:
        root=lambda wildcards: corpus_root(wildcards.corpus),
        landmarks="results/av/{corpus}/landmarks",
        mean_face="results/av/{corpus}/mean_face.npy",
    output:
        directory("results/av/{corpus}/mouths"),
    log:
        "results/logs/crop_mouths/{corpus}.log",
    benchmark:
        "results/benchmarks/crop_mouths/{corpus}.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
    conda:
        "../envs/data.yaml"
    resources:
        runtime=240,
        mem_mb=scale_resource("mem_mb", "crop_mouths"),
    params:
        settings=lambda wildcards: av_settings(wildcards.corpus, "mouth"),
    shell:
        "python workflow/scripts/prepare_av.py mouths --corpus {wildcards.corpus} --root {input.root}"
        " --landmarks {input.landmarks} --mean_face {input.mean_face} --out {output} {params.settings} --log {log}"


rule extract_av_audio:
    input:
        root=lambda wildcards: corpus_root(wildcards.corpus),
        landmarks="results/av/{corpus}/landmarks",
    output:
        directory("results/av/{corpus}/audio"),
    log:
        "results/logs/extract_av_audio/{corpus}.log",
    benchmark:
        "results/benchmarks/extract_av_audio/{corpus}.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
    conda:
        "../envs/torch.yaml"
    resources:
        runtime=120,
        mem_mb=scale_resource("mem_mb", "extract_av_audio"),
    params:
        settings=lambda wildcards: av_settings(wildcards.corpus, "audio"),
    shell:
        "python workflow/scripts/prepare_av.py audio --corpus {wildcards.corpus} --root {input.root}"
        " --landmarks {input.landmarks} --out {output} {params.settings} --log {log}"

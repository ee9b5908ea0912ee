# Paper 4's audiovisual preparation of GRID and LRW in parts (scales.<scale>.partitions): landmarks per part ->
# one mean face from every part -> mouth crops and audio features per part -> gather_av lists the parts' shards
# as results/av/{corpus}/{landmarks,mouths,audio}, rows in the order one part gives.


rule detect_landmarks:
    input:
        root=lambda wildcards: corpus_root(wildcards.corpus),
    output:
        directory("results/av/{corpus}/parts/landmarks/{part}"),
    log:
        "results/logs/detect_landmarks/{corpus}/{part}.log",
    benchmark:
        "results/benchmarks/detect_landmarks/{corpus}/{part}.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
        part=r"\d+",
    conda:
        "../envs/av.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        gpu=int(SCALE["av"]["landmarks"]["backend"] == "face_alignment"),
        runtime=240,
        mem_mb=scale_resource("mem_mb", "detect_landmarks"),
    params:
        workers=SCALE["resources"]["threads"],
        settings=lambda wildcards: av_settings(wildcards.corpus, "landmarks"),
        parts=lambda wildcards: SCALE["partitions"][wildcards.corpus],
    shell:
        "python workflow/scripts/prepare_av.py landmarks --corpus {wildcards.corpus} --root {input.root}"
        " --out {output} {params.settings} --part {wildcards.part} --parts {params.parts}"
        " --workers {params.workers} --log {log}"


rule mean_face:
    input:
        lambda wildcards: av_part_dirs(wildcards.corpus, "landmarks"),
    output:
        "results/av/{corpus}/mean_face.npy",
    log:
        "results/logs/mean_face/{corpus}.log",
    benchmark:
        "results/benchmarks/mean_face/{corpus}.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
    conda:
        "../envs/av.yaml"
    resources:
        runtime=30,
        mem_mb=scale_resource("mem_mb", "mean_face"),
    params:
        size=config["av"]["mouth"]["face_size"],
        parts=lambda wildcards: SCALE["partitions"][wildcards.corpus],
    shell:
        "python workflow/scripts/prepare_av.py mean_face --parts_dir results/av/{wildcards.corpus}/parts"
        " --parts {params.parts} --out {output} --size {params.size} --log {log}"


rule crop_mouths:
    input:
        root=lambda wildcards: corpus_root(wildcards.corpus),
        landmarks="results/av/{corpus}/parts/landmarks/{part}",
        mean_face="results/av/{corpus}/mean_face.npy",
    output:
        directory("results/av/{corpus}/parts/mouths/{part}"),
    log:
        "results/logs/crop_mouths/{corpus}/{part}.log",
    benchmark:
        "results/benchmarks/crop_mouths/{corpus}/{part}.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
        part=r"\d+",
    conda:
        "../envs/av.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        runtime=240,
        mem_mb=scale_resource("mem_mb", "crop_mouths"),
    params:
        workers=SCALE["resources"]["threads"],
        settings=lambda wildcards: av_settings(wildcards.corpus, "mouth"),
    shell:
        "python workflow/scripts/prepare_av.py mouths --corpus {wildcards.corpus} --root {input.root}"
        " --landmarks {input.landmarks} --mean_face {input.mean_face} --out {output} {params.settings}"
        " --workers {params.workers} --log {log}"


rule extract_av_audio:
    input:
        root=lambda wildcards: corpus_root(wildcards.corpus),
        landmarks="results/av/{corpus}/parts/landmarks/{part}",
    output:
        directory("results/av/{corpus}/parts/audio/{part}"),
    log:
        "results/logs/extract_av_audio/{corpus}/{part}.log",
    benchmark:
        "results/benchmarks/extract_av_audio/{corpus}/{part}.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
        part=r"\d+",
    conda:
        "../envs/av.yaml"
    threads: SCALE["resources"]["threads"]
    resources:
        runtime=120,
        mem_mb=scale_resource("mem_mb", "extract_av_audio"),
    params:
        workers=SCALE["resources"]["threads"],
        settings=lambda wildcards: av_settings(wildcards.corpus, "audio"),
    shell:
        "python workflow/scripts/prepare_av.py audio --corpus {wildcards.corpus} --root {input.root}"
        " --landmarks {input.landmarks} --out {output} {params.settings} --workers {params.workers}"
        " --log {log}"


rule gather_av:
    input:
        landmarks=lambda wildcards: av_part_dirs(wildcards.corpus, "landmarks"),
        mouths=lambda wildcards: av_part_dirs(wildcards.corpus, "mouths"),
        audio=lambda wildcards: av_part_dirs(wildcards.corpus, "audio"),
    output:
        landmarks=directory("results/av/{corpus}/landmarks"),
        mouths=directory("results/av/{corpus}/mouths"),
        audio=directory("results/av/{corpus}/audio"),
    log:
        "results/logs/gather_av/{corpus}.log",
    benchmark:
        "results/benchmarks/gather_av/{corpus}.tsv"
    wildcard_constraints:
        corpus="grid|lrw",
    conda:
        "../envs/av.yaml"
    resources:
        runtime=30,
        mem_mb=scale_resource("mem_mb", "gather_av"),
    params:
        parts=lambda wildcards: SCALE["partitions"][wildcards.corpus],
    shell:
        "python workflow/scripts/prepare_av.py gather --parts_dir results/av/{wildcards.corpus}/parts"
        " --parts {params.parts} --landmarks {output.landmarks} --mouths {output.mouths} --audio {output.audio}"
        " --log {log}"

import os
import sys

from snakemake.utils import validate

from avsec.advgan.names import check_advgan
from avsec.avdetect.names import CORPUS_ATTACKS as AVDETECT_ATTACKS
from avsec.avdetect.names import check_avdetect
from avsec.avdetect.names import BENIGN as AVDETECT_BENIGN
from avsec.avdetect.names import FIGURE2_CORPORA as AVDETECT_FIGURE2
from avsec.avdetect.names import attack_grid
from avsec.core.config import check_corpora, check_partitions, corpus_path, flags
from avsec.core.config import paper_corpora, resolve_scale
from avsec.core.config import validate as check_schema
from avsec.core.errors import ConfigError
from avsec.data.synth import CORPORA
from avsec.rehearsal.jobs import check_rehearsal
from avsec.report.folder import FOLDERS as REPORT_FOLDERS
from avsec.stego.names import BASELINES as STEGO_BASELINES
from avsec.stego.names import check_stego
from avsec.stego.names import report_inputs as stego_report_files


# Jobs call `python workflow/scripts/...`: make that the interpreter running Snakemake (the project's .venv).
envvars:
    "PATH",


os.environ["PATH"] = os.pathsep.join(
    [os.path.dirname(sys.executable), os.environ.get("PATH", "")]
)

# ---- config: resolve the scale preset, then validate (one clear line on error) -------------------------------
try:
    config.update(resolve_scale(config))
    check_schema(config, workflow.source_path("../workflow/schemas/config.schema.yaml"))
    check_corpora(config)
    check_partitions(config)
    check_advgan(config)
    check_stego(config)
    check_avdetect(config)
    check_rehearsal(config)
except ConfigError as exc:
    sys.exit(f"error: {exc}")
validate(config, "../workflow/schemas/config.schema.yaml")

SCALE = config["scale"]
PREPARED = ("timit", "librispeech", "gtzan", "speech_commands", "voc")
AV_CORPORA = ("grid", "lrw")
VICTIMS = tuple(config["advgan"]["victims"])
LABEL = "[A-Za-z0-9-]+"


wildcard_constraints:
    corpus="|".join(CORPORA),
    feature="|".join(config["features"]) or "[A-Za-z0-9_-]+",
    victim="|".join(VICTIMS),
    generator=f"{LABEL}_to_{LABEL}",
    method="|".join(config["advgan"]["baselines"]),


# ---- input functions -------------------------------------------------------------------------------------------
def corpus_root(corpus):
    """The corpus directory: the synth_corpus output when synthesised, else the user's path, which must exist
    (asked only when a requested paper needs the corpus: one line naming it and the papers).
    """
    return corpus_path(config, corpus)


def prep_settings(corpus):
    """The preparation flags of a corpus: the protocol's settings, then the scale's."""
    return flags(config["prep"][corpus], SCALE["prep"].get(corpus, {}))


def av_settings(corpus, step):
    """The flags of an audiovisual step: its settings (landmarks: and the scale's backend), the corpus's, and
    (landmarks, GRID) the split: its speakers and how (by speaker or by sentence)."""
    grid = (step, corpus) == ("landmarks", "grid")
    return flags(
        config["av"][step],
        SCALE["av"].get(step, {}),
        config["av"][corpus],
        SCALE["av"]["grid_speakers"] if grid else {},
        SCALE["av"]["grid_split"] if grid else {},
    )


def av_parts(corpus):
    """The part numbers of a corpus's audiovisual preparation (scales.<scale>.partitions)."""
    return range(SCALE["partitions"][corpus])


def av_part_dirs(corpus, kind):
    """Every part's ``kind`` (landmarks, mouths, audio) of a corpus."""
    return expand(
        "results/av/{corpus}/parts/{kind}/{part}",
        corpus=corpus,
        part=av_parts(corpus),
        kind=kind,
    )


def victim_data(victim):
    """The prepared corpus a victim is trained and attacked on."""
    return f"results/prep/{config['advgan']['victims'][victim]['corpus']}"


def victim_settings(victim):
    return flags(
        config["advgan"]["victims"][victim], SCALE["advgan"]["victims"][victim]
    )


def scale_resource(kind, rule):
    """The rule's ``runtime`` (SLURM time limit, minutes) or ``mem_mb`` (memory, MB) from the scale preset."""
    try:
        return SCALE["resources"][kind][rule]
    except KeyError:
        raise ValueError(
            f"config.yaml: scales.{SCALE['name']}.resources.{kind} has no entry for rule {rule}"
        ) from None


PAPER_CORPORA = paper_corpora(config)


def paper_outputs(paper):
    """The targets of a paper (its own target and `all`, for each of config.yaml's `papers`): its report, its
    prepared corpora (STFT features for paper 1, mouths and audio for paper 4) and their synthetic sources.
    """
    corpora = PAPER_CORPORA[paper]
    extra = {
        "stego": [
            f"results/features/{f}"
            for f, s in config["features"].items()
            if s["input"] in corpora
        ],
        "avdetect": expand(
            "results/av/{c}/{kind}", c=corpora, kind=("mouths", "audio")
        ),
    }
    return [
        *[f"results/synth/{c}" for c in corpora if c in SCALE["synthesize"]],
        *[f"results/prep/{c}" for c in corpora if c in PREPARED],
        *extra.get(paper, []),
        f"results/{paper}/report",
    ]


def final_outputs():
    """The outputs of `all`: every paper of config.yaml's ``papers``."""
    return list(
        dict.fromkeys(f for paper in config["papers"] for f in paper_outputs(paper))
    )


STEGO_DATASET = "|".join(config["stego"]["datasets"])
STEGO_RUN = "(ran|hpf)_(nor|an)"
STEGO_BASELINE = "|".join(STEGO_BASELINES)


def stego_train_settings(dataset):
    """λ of the dataset, its STFT (features.stego_<dataset>), the training settings and the scale's sizes."""
    return flags(
        config["stego"]["datasets"][dataset],
        config["features"][f"stego_{dataset}"]["stft"],
        config["stego"]["train"],
        SCALE["stego"]["train"],
        {"epochs": SCALE["stego"]["epochs"][dataset], "crop": SCALE["stego"]["crop"]},
    )


def stego_security_model(dataset):
    """The trained model whose stego audio the security experiment analyses (stego.security.run)."""
    return f"results/stego/{dataset}/{config['stego']['security']['run']}/model.pt"


def stego_security_settings(dataset, baseline=None):
    """STFT, steganalyzer and scale settings, and a baseline's embedding settings."""
    return flags(
        config["features"][f"stego_{dataset}"]["stft"],
        config["stego"]["security"]["rich"],
        config["stego"]["security"]["cnn"],
        SCALE["stego"]["security"],
        {"crop": SCALE["stego"]["crop"]},
        config["stego"]["baselines"][baseline] if baseline else {},
    )


# the model columns of paper 3's table: base, ssim
IMGSTEGO_VARIANTS = tuple(config["imgstego"]["variants"])


def imgstego_settings(variant):
    """Paper 3's training flags of one variant: spectrogram, loss and optimiser, the variant's SSIM weight, scale."""
    img = config["imgstego"]
    return flags(
        img["spectrogram"],
        img["train"],
        img["variants"][variant],
        SCALE["imgstego"]["train"],
    )


def avdetect_recogniser_settings(corpus):
    return flags(
        config["avdetect"][corpus]["recogniser"],
        SCALE["avdetect"][corpus]["recogniser"],
    )


def avdetect_attack_settings(method):
    return flags(config["avdetect"][method], SCALE["avdetect"][method])


def avdetect_figure2_settings(corpus):
    """Figure 2's flags: its settings, BIM's steps, the corpus's frame count, the STFT of av.audio."""
    bim, audio = config["avdetect"]["bim"], config["av"]["audio"]
    return flags(
        config["avdetect"]["figure2"],
        {key: bim[key] for key in ("alpha_audio", "alpha_video")},
        {"frames": config["av"][corpus]["frames"]},
        {key: audio[key] for key in ("rate", "n_fft", "hop", "win_length")},
    )


def avdetect_setting_jobs(corpus, method):
    """The attack_av job folders of an attack: the benign scores and each setting of its grid."""
    cfg = {**config["avdetect"][method], **SCALE["avdetect"][method]}
    grid = attack_grid(
        method, cfg["eps_audio"], cfg["eps_video"], cfg.get("targets", ())
    )
    return expand(
        "results/avdetect/{corpus}/attacks/{method}/settings/{setting}",
        corpus=corpus,
        method=method,
        setting=[AVDETECT_BENIGN, *grid],
    )


def avdetect_attack_results(corpus):
    """The attack JSONs of a corpus (LRW: FGSM, BIM; GRID: C&W)."""
    return expand(
        "results/avdetect/{corpus}/attacks/{method}/attack.json",
        corpus=corpus,
        method=AVDETECT_ATTACKS[corpus],
    )


# ---- the HTML report (snakemake --report): one category per paper -----------------------------------------------
REPORT_CATEGORIES = {
    "stego": "Paper 1: audio in audio (GAN steganography)",
    "advgan": "Paper 2: SpeechAdvGan (adversarial audio)",
    "imgstego": "Paper 3: images in speech spectrograms",
    "avdetect": "Paper 4: detecting attacks on audiovisual speech",
}


def paper_report(paper):
    """results/<paper>/report, a report() output: every file of its tables/, figures/, audio/ and video/
    (avsec.report.folder) under the paper's category, one subcategory per folder, captioned by
    workflow/report/<paper>.rst."""
    return report(
        directory(f"results/{paper}/report"),
        patterns=[f"{{folder,{'|'.join(REPORT_FOLDERS)}}}/{{file}}"],
        category=REPORT_CATEGORIES[paper],
        subcategory=lambda wildcards: REPORT_FOLDERS[wildcards.folder],
        caption=f"../workflow/report/{paper}.rst",
    )

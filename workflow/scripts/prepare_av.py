"""Audiovisual preparation of GRID and LRW, one step per rule of rules/av_data.smk:

prepare_av.py landmarks --corpus C --root R --out DIR [settings]         (rule detect_landmarks)
prepare_av.py mean_face --landmarks DIR --out FILE --size 256           (rule mean_face)
prepare_av.py mouths --corpus C --root R --landmarks DIR --mean_face F --out DIR [settings]  (crop_mouths)
prepare_av.py audio --corpus C --root R --landmarks DIR --out DIR [settings]          (extract_av_audio)
"""

import sys

from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.data.av import prep as av_prep

STEPS = {
    "landmarks": av_prep.detect_corpus_landmarks,
    "mean_face": av_prep.compute_mean_face,
    "mouths": av_prep.crop_corpus_mouths,
    "audio": av_prep.extract_corpus_audio,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in STEPS:
        sys.exit(f"usage: prepare_av.py {{{','.join(STEPS)}}} --key value ...\n{__doc__}")
    step, settings = sys.argv[1], parse_flags(sys.argv[2:])
    result = STEPS[step](**settings)
    print(f"{step}: {result if isinstance(result, dict) else 'written'}")


if __name__ == "__main__":
    run(main)

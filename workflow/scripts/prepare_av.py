"""Audiovisual preparation of GRID and LRW, one step per rule of rules/av_data.smk; part k of N of each kind
is DIR/<kind>/<k> (DIR = results/av/<corpus>/parts):

prepare_av.py landmarks --corpus C --root R --out DIR/landmarks/<k> [settings] --part k --parts N  (detect_landmarks)
prepare_av.py mean_face --parts_dir DIR --parts N --out FILE --size 256                          (mean_face)
prepare_av.py mean_face --landmarks L [L ...] --out FILE --size 256
prepare_av.py mouths --corpus C --root R --landmarks L --mean_face F --out DIR/mouths/<k> [settings]  (crop_mouths)
prepare_av.py audio --corpus C --root R --landmarks L --out DIR/audio/<k> [settings]          (extract_av_audio)
prepare_av.py gather --parts_dir DIR --parts N --landmarks OUT --mouths OUT --audio OUT        (gather_av)
"""

import sys

from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.data.av import prep as av_prep
from avsec.data.av.parts import part_dirs


def mean_face(parts_dir=None, parts=1, landmarks=None, **settings):
    """From every part's landmarks (the rule), or from the --landmarks directories given."""
    return av_prep.compute_mean_face(landmarks or part_dirs(parts_dir, "landmarks", parts), **settings)


STEPS = {
    "landmarks": av_prep.detect_corpus_landmarks,
    "mean_face": mean_face,
    "mouths": av_prep.crop_corpus_mouths,
    "audio": av_prep.extract_corpus_audio,
    "gather": av_prep.gather_corpus,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in STEPS:
        sys.exit(f"usage: prepare_av.py {{{','.join(STEPS)}}} --key value ...\n{__doc__}")
    step, settings = sys.argv[1], parse_flags(sys.argv[2:])
    result = STEPS[step](**settings)
    print(f"{step}: {result if isinstance(result, dict) else 'written'}")


if __name__ == "__main__":
    run(main)

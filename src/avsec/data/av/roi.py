"""The mouth region: crop sizes and normalisation of the authors' preprocessing (paper 4's group, the public
mpc001/Lipreading_using_TCN), without OpenCV or torch, so the networks can import them without the cropping code.

The preparation (:mod:`avsec.data.av.mouth`) warps each frame into a FACE_SIZE × FACE_SIZE aligned face and stores
a CROP_SIZE × CROP_SIZE mouth crop; the models see its central TEST_SIZE × TEST_SIZE, mapped to
``(x / 255 - MEAN) / STD``.
"""

FACE_SIZE = 256  # the aligned face (the public STD_SIZE)
CROP_SIZE = 96  # mouth crop stored by the preparation
TEST_SIZE = 88  # centre crop fed to the models at test time
MEAN, STD = 0.421, 0.165  # normalisation of [0, 1] grey values

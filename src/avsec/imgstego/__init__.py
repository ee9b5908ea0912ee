"""Paper 3: deep residual networks for image-in-speech steganography (a Hiding block hides one greyscale image
channel in a 1 s TIMIT carrier's STFT magnitude, a Reveal block recovers it, a U-Net enhances the revealed RGB
images; Pascal VOC images). Protocol, readings and deviations: docs/protocols.md (paper 3).

- frontend: the carrier's STFT magnitude front-end (``Frontend``) and its inverse, the TIMIT carriers, the VOC
  images, random crops.
- nets: the Hiding and Reveal blocks (``ImageStego``), the U-Net ``Enhancer``, ``parameter_count``.
- train: the loss, ``train_model`` (hiding/reveal, ``ImgstegoTraining``) and ``train_enhancer``
  (``EnhancerTraining``), their checkpoints' loaders.
- evaluate: ``hide_and_reveal`` one RGB image, ``evaluate`` a column (``ImgstegoEvaluation``): metrics JSON and
  examples; ``hide_image_file`` and ``reveal_image_file`` (``avsec hide-image``, ``avsec reveal-image``).
- names: the training length's arithmetic without torch (``epochs_to_reach``; the rehearsal's job list).
- report: the paper's table beside ours, figures and WAV examples from the columns' evaluations.
"""

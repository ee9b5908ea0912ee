"""Paper 1: GAN audio-in-audio steganography (Ye, Jiang and Huang, "Heard More Than Heard: An Audio Steganography
Method Based on GAN"). An encoder hides a secret clip's STFT in a carrier clip's, a decoder reveals it from the
stego audio, and a CNN steganalyzer, trained against the encoder, tells stego from carrier. The workflow's steps
are in rules/stego.smk, the protocol and our readings of the paper in docs/protocols.md (paper 1).

- names.py: run names (``<analyzer>_<channel>``), methods, the config checks and the report's input files (no torch)
- nets.py: the encoder, decoder and steganalyzer of the paper's Table 1
- clips.py: the prepared int16 clips, channel noise, and which clip is whose secret
- codec.py: the STFT front-end, a trained model loaded, hide and reveal (waveforms; audio files of any length,
  segment by segment: ``avsec hide``, ``avsec reveal``)
- train.py: the training step of eqs. 4–8, its distances and settings, ``train_stego``
- evaluate.py: ``evaluate_stego``, Tables 2 and 3 (clean and with channel noise), WAV examples
- security.py: ``steganalysis``, the security experiment of Table 4
- classic.py: the classic baselines of Table 4 (LSB matching, echo hiding)
- rich_model.py: the rich-model steganalyzer of Table 4
- report.py: the report, Tables 2–4 and Figure 3 beside the paper's numbers
"""

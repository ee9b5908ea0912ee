"""Paper 4: detecting adversarial attacks on audiovisual speech recognition (Ma, Petridis & Pantic, ICASSP 2020).

Audiovisual recognisers (LRW words, GRID sentences) are attacked on both modalities at once (FGSM and BIM on
LRW, targeted C&W with CTC on GRID); a SyncNet's audio-visual synchronisation confidence scores every benign and
adversarial clip, and the detection is measured by AUC and F1. The protocol and our readings of the paper are in
docs/protocols.md (paper 4); the steps are the rules of rules/avdetect.smk.

Modules:

- names: the heads per corpus, the attacks per corpus, the settings' names and the config checks (no torch)
- data: the clips of a split (mouth crops, waveform, MFCC joined by source) and the CPU's denormal setting
- recogniser: the audiovisual recogniser (3-D conv + ResNet-18 + BGRU, 1-D CNN + BGRU, fusion BGRU), its word and
  CTC heads, its training (train_recogniser, RecogniserTraining) and scoring (accuracy, WER)
- syncnet: SyncNet, its contrastive training (train_syncnet, SyncNetTraining), offset and confidence per clip
- attacks: FGSM, BIM, C&W with CTC, and the distortion measures
- attack_jobs: one setting of an attack's ε grid as a resumable job (attack_setting, AttackSettings), and a
  method's jobs and their gather in one process (attack_corpus)
- gather: a method's jobs joined into its attack.json and examples/ (gather_attacks; no torch)
- figure2: Figure 2's examples, one test clip under BIM at the figure's ε with its mouth pasted back into the face
  (figure2_examples, Figure2Settings)
- detect: the detection measures per attack setting (AUC, threshold on validation, F1 on test): detect_attacks
- clip: one video file prepared, scored by SyncNet and judged at a setting's threshold (``avsec sync``, ``avsec
  detect``): sync_clip, detect_clip
- report: Tables 1-4 beside the paper's numbers, Figures 1(d) and 2, ROC curves, example videos
"""

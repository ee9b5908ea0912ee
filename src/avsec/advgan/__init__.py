"""Paper 2, SpeechAdvGan (Wang et al., IEEE Access 8, 2020): a generator network that turns a speech or music clip
into a targeted adversarial example for a waveform classifier in one forward pass, trained against the frozen
classifier with a discriminator; compared with two black-box attacks (a genetic algorithm, a particle swarm).
The workflow (rules/advgan.smk) trains two victims (WideResNet on Speech Commands, SampleCNN on GTZAN), one
generator per entry of the scale's list, evaluates each, runs the baselines and writes the report.
docs/protocols.md (paper 2) describes the protocol and our reading of the paper.

Modules (this file imports none of them):

- ``names``: generator names, loss and baseline names, the report's input files, the config checks (no torch:
  rules/common.smk imports it when the workflow starts);
- ``data``: the prepared clips of a split (int16 rows and their labels);
- ``victims``: the victim networks (WideResNet over the MFCC, SampleCNN), their training and loading;
- ``nets``: the generator (a 1-D U-Net) and the discriminator;
- ``train``: the generator's training (the GAN game against the victim) and loading;
- ``evaluate``: a generator's evaluation: success, SNR, PESQ, time, WAV examples; ``attack_file`` (``avsec attack``);
- ``baselines``: the black-box attacks (genetic, pso) and the step running them on a victim's test clips;
- ``report``: the success matrices, Tables 1 and 2, victim accuracy and Figure 7, beside the paper's numbers.
"""

"""Signal processing shared by the papers: the STFT and its inverse (:mod:`.stft`) and the one MFCC (:mod:`.mfcc`)."""

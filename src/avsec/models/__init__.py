"""Networks, one module per paper's family: ``victims`` and ``advgan`` (paper 2), ``mfcc`` (their front-end)."""

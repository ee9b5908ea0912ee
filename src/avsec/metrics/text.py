"""Word error rate: word-level Levenshtein distance over the reference's word count."""

from __future__ import annotations


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Minimum number of substitutions, insertions and deletions turning ``reference`` into ``hypothesis``."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` (may exceed 1 with insertions); an empty
    reference gives 0 for an empty hypothesis and 1 otherwise."""
    ref, hyp = reference.split(), hypothesis.split()
    if not ref:
        return float(bool(hyp))
    return edit_distance(ref, hyp) / len(ref)

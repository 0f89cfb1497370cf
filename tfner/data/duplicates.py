"""Documents shared across data splits, found exactly (same normalised text) or nearly (word 5-shingles).

A test sentence that is also in training, verbatim or with a word changed, makes scores look better than
they are; comparing every pair of documents is quadratic, so near duplicates are found with MinHash and
locality-sensitive hashing, then checked with the exact Jaccard similarity. Only finding them lives here,
on plain lists of documents; `check.duplicate_findings` words the findings.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict

import numpy as np

from tfner.data import tags as tag_schemes


def normalise(doc):
    """The text of a document for duplicate detection: NFKC, case-folded, whitespace collapsed."""
    text = doc.text if doc.is_spans else " ".join(doc.tokens)
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def shingles(text, k=5):
    """The 32-bit hashes of the word `k`-grams of a text."""
    words = re.findall(r"\w+", text)
    grams = {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}
    return {int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little") for g in grams}


def minhash_candidates(sets, bands=16, rows=8, seed=0):
    """Pairs (i, j) of shingle sets whose MinHash signatures agree on a whole band (LSH)."""
    rng = np.random.default_rng(seed)
    prime = np.uint64(4294967311)  # > 2**32; a < 2**31 keeps a * x + b below 2**64
    a = rng.integers(1, 2**31, bands * rows, dtype=np.uint64)
    b = rng.integers(0, 2**32, bands * rows, dtype=np.uint64)
    keep = [i for i, s in enumerate(sets) if s]
    if not keep:
        return set()
    values = np.concatenate([np.fromiter(sets[i], np.uint64) for i in keep])
    starts = np.cumsum([0] + [len(sets[i]) for i in keep[:-1]])
    signature = np.stack([np.minimum.reduceat((a[p] * values + b[p]) % prime, starts) for p in range(len(a))], 1)
    pairs = set()
    for band in range(bands):
        buckets = defaultdict(list)
        for n, row in enumerate(signature[:, band * rows : (band + 1) * rows]):
            buckets[row.tobytes()].append(keep[n])
        for members in buckets.values():
            pairs.update((x, y) for i, x in enumerate(members) for y in members[i + 1 :])
    return pairs


def entity_labels(doc):
    """The entities of a document as (type, case-folded words), to compare the annotation of two texts."""
    if doc.is_spans:
        return sorted((label, " ".join(doc.text[s:e].casefold().split())) for s, e, label in doc.spans or ())
    return sorted((kind, " ".join(doc.tokens[a:b]).casefold()) for kind, a, b in tag_schemes.entities(doc.tags))


def find_duplicates(splits, near=0.9):
    """(exact, near_found) for `splits`, a list of lists of documents; a document is a member
    (split index, document index). exact: [(normalised text, later member, [earlier members])], one per
    document with the same text in an earlier split; near_found: {later member: [(jaccard, earlier
    member)]} for word 5-shingle Jaccard >= `near` (sorted, most similar first)."""
    groups = defaultdict(list)  # normalised text -> [members]
    for n, docs in enumerate(splits):
        for d, doc in enumerate(docs):
            groups[normalise(doc)].append((n, d))
    texts = list(groups)
    exact = []
    for text, members in groups.items():
        for later in members:
            earlier = [m for m in members if m[0] < later[0]]
            if earlier:
                exact.append((text, later, earlier))
    sets = [shingles(t) for t in texts]
    partners = defaultdict(list)
    for i, j in minhash_candidates(sets):
        jaccard = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
        if jaccard < near:
            continue
        for x in groups[texts[i]]:
            for y in groups[texts[j]]:
                if x[0] != y[0]:
                    earlier, later = sorted([x, y])
                    partners[later].append((jaccard, earlier))
    for found_with in partners.values():
        found_with.sort(key=lambda p: (-p[0], p[1]))
    return exact, dict(partners)

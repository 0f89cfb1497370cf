"""Tag schemes in one place: parsing tags, converting between IOB1, IOB2, IOBES and BILOU, and entities.

tfner trains on IOB2 (`B-` opens every entity, `I-` continues it). Corpora come in other schemes:

- IOB1 (CoNLL-2003's original): `I-` opens an entity unless it follows one of the same type, `B-`
  only separates two adjacent entities of one type;
- IOBES: `S-` a single-token entity, `E-` the last token of a longer one;
- BILOU: the same with `U-` (unit) and `L-` (last).

`entities(tags, scheme)` reads `(type, start, end)` spans (end exclusive) from a tag sequence of any
scheme, `to_tags(spans, n, scheme)` writes them back, and `convert` goes between schemes through the
spans, so every conversion is lossless for valid sequences. `violations` lists where a sequence breaks its
scheme's rules (an `I-` after `O` in IOB2, an `E-` without a start in IOBES, ...).
"""

import re

OUTSIDE = "O"
SCHEMES = ("IOB1", "IOB2", "IOBES", "BILOU")
_PREFIXES = {"IOB1": "BI", "IOB2": "BI", "IOBES": "BIES", "BILOU": "BILU"}
_TAG = re.compile(r"^([BIESLU])-(.+)$")


def split(tag):
    """(prefix, type) of a tag: `("B", "PER")` for `B-PER`, `("O", None)` for `O`; None if malformed."""
    if tag == OUTSIDE:
        return OUTSIDE, None
    m = _TAG.match(tag)
    return (m.group(1), m.group(2)) if m else None


def entity_type(label):
    """The entity type of a label (`PER` for `B-PER` and `I-PER`), None for `O`; a bare type stays."""
    parts = split(label)
    if parts is None:
        return label
    return parts[1]


def inside_form(label):
    """The IOB2 continuation of a label (`I-PER` for `B-PER`); other labels unchanged."""
    parts = split(label)
    return f"I-{parts[1]}" if parts and parts[0] == "B" else label


def is_valid_tag(tag, scheme="IOB2"):
    parts = split(tag)
    return parts is not None and (parts[0] == OUTSIDE or parts[0] in _PREFIXES[scheme])


def _check_scheme(scheme):
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")


def entities(tags, scheme="IOB2"):
    """`[(type, start, end), ...]` of a tag sequence, end exclusive; lenient as conlleval is: an entity
    continuation without its start (`I-X` after `O`) starts an entity, a type change ends one."""
    _check_scheme(scheme)
    out, start, kind = [], None, None

    def close(at):
        nonlocal start, kind
        if start is not None:
            out.append((kind, start, at))
        start, kind = None, None

    for i, tag in enumerate(tags):
        parts = split(tag)
        if parts is None:
            raise ValueError(f"tag {i} {tag!r} is not a {scheme} tag")
        prefix, t = parts
        if prefix == OUTSIDE:
            close(i)
            continue
        if prefix in ("B", "S", "U") or t != kind or start is None:
            close(i)
            start, kind = i, t
        if prefix in ("E", "L", "S", "U"):
            close(i + 1)
    close(len(tags))
    return out


def to_tags(spans, length, scheme="IOB2"):
    """Tags of `length` positions for non-overlapping `(type, start, end)` spans, in `scheme`."""
    _check_scheme(scheme)
    tags = [OUTSIDE] * length
    ordered = sorted(spans, key=lambda s: (s[1], s[2]))
    previous = None
    for kind, start, end in ordered:
        if not 0 <= start < end <= length:
            raise ValueError(f"span ({kind!r}, {start}, {end}) is outside 0..{length}")
        if any(t != OUTSIDE for t in tags[start:end]):
            raise ValueError(f"span ({kind!r}, {start}, {end}) overlaps another")
        single = end - start == 1
        if scheme in ("IOBES", "BILOU"):
            last = "E" if scheme == "IOBES" else "L"
            unit = "S" if scheme == "IOBES" else "U"
            if single:
                tags[start] = f"{unit}-{kind}"
            else:
                tags[start] = f"B-{kind}"
                tags[start + 1 : end - 1] = [f"I-{kind}"] * (end - start - 2)
                tags[end - 1] = f"{last}-{kind}"
        else:
            first = "B"
            if scheme == "IOB1":  # B- only where an entity of the same type ends right before
                first = "B" if previous is not None and previous[0] == kind and previous[2] == start else "I"
            tags[start] = f"{first}-{kind}"
            tags[start + 1 : end] = [f"I-{kind}"] * (end - start - 1)
        previous = (kind, start, end)
    return tags


def convert(tags, source, target):
    """The same entities written in another scheme."""
    return to_tags(entities(tags, source), len(tags), target)


def violations(tags, scheme="IOB2"):
    """`[(position, message), ...]` where the sequence breaks the scheme's rules."""
    _check_scheme(scheme)
    found, prev_prefix, prev_type = [], OUTSIDE, None
    for i, tag in enumerate(tags):
        parts = split(tag)
        if parts is None or not is_valid_tag(tag, scheme):
            found.append((i, f"{tag!r} is not a {scheme} tag"))
            prev_prefix, prev_type = OUTSIDE, None
            continue
        prefix, kind = parts
        open_entity = prev_prefix in ("B", "I")
        continues = prefix in ("I", "E", "L")
        if scheme == "IOB2" and prefix == "I" and (prev_prefix == OUTSIDE or prev_type != kind):
            found.append((i, f"{tag} follows {tags[i - 1] if i else 'the start'}: an entity must begin with B-"))
        if scheme in ("IOBES", "BILOU"):
            if continues and not (open_entity and prev_type == kind):
                found.append((i, f"{tag} continues no {kind} entity"))
            if prev_prefix in ("B", "I") and not continues:
                found.append(
                    (i, f"the {prev_type} entity before position {i} has no {'E-' if scheme == 'IOBES' else 'L-'} end")
                )
        prev_prefix, prev_type = prefix, kind
    if scheme in ("IOBES", "BILOU") and prev_prefix in ("B", "I"):
        found.append((len(tags), f"the {prev_type} entity at the end has no {'E-' if scheme == 'IOBES' else 'L-'} end"))
    return found


def detect_scheme(sequences):
    """The scheme a corpus is written in, from the prefixes it uses and where: BILOU or IOBES when
    their prefixes appear, IOB1 when an entity starts with I- (after O or another type) or B- only
    follows the same type, else IOB2. None when nothing tells (no entity at all)."""
    prefixes, iob1_hint, seen = set(), False, False
    for tags in sequences:
        prev = (OUTSIDE, None)
        for tag in tags:
            parts = split(tag)
            if parts is None:
                continue
            prefixes.add(parts[0])
            if parts[0] == "I" and (prev[0] == OUTSIDE or prev[1] != parts[1]):
                iob1_hint = True
            if parts[0] != OUTSIDE:
                seen = True
            prev = parts
    if prefixes & {"L", "U"}:
        return "BILOU"
    if prefixes & {"E", "S"}:
        return "IOBES"
    if not seen:
        return None
    return "IOB1" if iob1_hint else "IOB2"


_ALIASES = {"BIO": "IOB2", "BIOES": "IOBES", "BILOU": "BILOU", "BIOLU": "BILOU", "BIOUL": "BILOU"}


def scheme_name(name):
    """The canonical name of a scheme given in any case or by a common alias (`bio`, `bioes`, `bioul`)."""
    upper = str(name).upper()
    scheme = upper if upper in SCHEMES else _ALIASES.get(upper)
    _check_scheme(scheme or name)
    return scheme


def describe(scheme):
    """The tags a scheme allows, for messages: `O, B-TYPE, I-TYPE, E-TYPE or S-TYPE` for IOBES."""
    _check_scheme(scheme)
    forms = ["O"] + [f"{p}-TYPE" for p in _PREFIXES[scheme]]
    return ", ".join(forms[:-1]) + " or " + forms[-1]


def prefixes_used(sequences):
    """The set of prefixes (`B`, `I`, `E`, `S`, `L`, `U`) appearing in the tag sequences."""
    found = set()
    for tags in sequences:
        for tag in tags:
            parts = split(tag)
            if parts is not None and parts[0] != OUTSIDE:
                found.add(parts[0])
    return found

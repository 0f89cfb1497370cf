"""tfner.data.tags: IOB1, IOB2, IOBES and BILOU tags, entities, conversions, violations, scheme detection."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfner.data.tags import (
    SCHEMES,
    convert,
    detect_scheme,
    entities,
    entity_type,
    inside_form,
    split,
    to_tags,
    violations,
)

# Two adjacent PER entities, a one-token LOC, a three-token ORG right after it, then O.
SPANS = [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5), ("ORG", 5, 8)]
LENGTH = 9
WRITTEN = {
    "IOB2": ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG", "I-ORG", "O"],
    # B- only where an entity of the same type ends right before
    "IOB1": ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG", "I-ORG", "O"],
    "IOBES": ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "B-ORG", "I-ORG", "E-ORG", "O"],
    "BILOU": ["B-PER", "L-PER", "U-PER", "O", "U-LOC", "B-ORG", "I-ORG", "L-ORG", "O"],
}


def test_split_type_and_inside_form():
    assert split("B-PER") == ("B", "PER") and split("U-LOC") == ("U", "LOC") and split("O") == ("O", None)
    assert split("I-DATE-OF-BIRTH") == ("I", "DATE-OF-BIRTH")
    assert split("X-PER") is None and split("PER") is None and split("B-") is None
    assert entity_type("I-PER") == "PER" and entity_type("O") is None and entity_type("PATIENT") == "PATIENT"
    assert inside_form("B-PER") == "I-PER" and inside_form("I-PER") == "I-PER" and inside_form("O") == "O"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_hand_made_sequences_round_trip_through_entities(scheme):
    assert to_tags(SPANS, LENGTH, scheme) == WRITTEN[scheme]
    assert entities(WRITTEN[scheme], scheme) == SPANS
    assert violations(WRITTEN[scheme], scheme) == []
    assert detect_scheme([WRITTEN[scheme], ["O", "O"]]) == scheme


@pytest.mark.parametrize("source, target", list(itertools.product(SCHEMES, SCHEMES)))
def test_convert_between_every_pair_of_schemes(source, target):
    assert convert(WRITTEN[source], source, target) == WRITTEN[target]


def test_entities_are_lenient_like_conlleval():
    assert entities(["O", "I-PER", "I-PER", "O"]) == [("PER", 1, 3)]  # an I- without its B- starts one
    assert entities(["B-PER", "I-LOC", "O"]) == [("PER", 0, 1), ("LOC", 1, 2)]  # a type change ends one
    assert entities(["B-PER", "I-PER"]) == [("PER", 0, 2)]  # an entity running to the end
    assert entities([]) == [] and entities(["O"] * 3) == []
    assert entities(["E-PER", "O"], "IOBES") == [("PER", 0, 1)]


def test_bad_tags_spans_and_schemes_are_errors():
    with pytest.raises(ValueError, match="tag 1 'PER' is not a IOB2 tag"):
        entities(["O", "PER"])
    with pytest.raises(ValueError, match="unknown tag scheme 'BIO': expected one of IOB1, IOB2, IOBES, BILOU"):
        entities(["O"], "BIO")
    with pytest.raises(ValueError, match="unknown tag scheme"):
        to_tags([], 1, "BIO")
    with pytest.raises(ValueError, match="overlaps another"):
        to_tags([("PER", 0, 2), ("LOC", 1, 3)], 4)
    with pytest.raises(ValueError, match=r"outside 0\.\.3"):
        to_tags([("PER", 2, 4)], 3)
    with pytest.raises(ValueError, match=r"outside"):
        to_tags([("PER", 1, 1)], 3)


def test_violations_iob2_i_after_o_or_another_type():
    assert violations(["O", "I-PER", "I-PER"]) == [(1, "I-PER follows O: an entity must begin with B-")]
    assert violations(["I-PER"]) == [(0, "I-PER follows the start: an entity must begin with B-")]
    found = violations(["B-PER", "I-LOC"])
    assert [at for at, _ in found] == [1] and "I-LOC follows B-PER" in found[0][1]
    assert violations(["B-PER", "I-PER", "O", "B-LOC"]) == []
    assert violations(["S-PER"], "IOB2") == [(0, "'S-PER' is not a IOB2 tag")]
    assert violations(["I-PER", "O"], "IOB1") == []  # IOB1 allows what IOB2 does not


def test_violations_iobes_unterminated_and_orphaned_entities():
    assert violations(["O", "B-PER"], "IOBES") == [(2, "the PER entity at the end has no E- end")]
    assert violations(["B-PER", "I-PER", "O"], "IOBES") == [(2, "the PER entity before position 2 has no E- end")]
    assert violations(["O", "E-PER"], "IOBES") == [(1, "E-PER continues no PER entity")]
    assert violations(["B-PER", "E-LOC"], "IOBES") == [(1, "E-LOC continues no LOC entity")]
    assert violations(["B-PER", "L-PER"], "IOBES") == [(1, "'L-PER' is not a IOBES tag")]
    assert violations(["B-PER", "I-PER"], "BILOU") == [(2, "the PER entity at the end has no L- end")]
    assert violations(["B-PER", "I-PER", "E-PER", "S-LOC"], "IOBES") == []


def test_detect_scheme():
    assert detect_scheme([["O", "B-PER", "I-PER"], ["B-LOC"]]) == "IOB2"
    assert detect_scheme([["O", "I-PER", "I-PER"]]) == "IOB1"  # an entity opened by I-
    assert detect_scheme([["B-PER", "I-LOC"]]) == "IOB1"  # I- after another type
    assert detect_scheme([["S-PER", "O"]]) == "IOBES" and detect_scheme([["B-X", "E-X"]]) == "IOBES"
    assert detect_scheme([["U-PER"]]) == "BILOU" and detect_scheme([["B-X", "L-X"]]) == "BILOU"
    assert detect_scheme([["O", "O"], []]) is None  # nothing tells
    assert detect_scheme([]) is None


TYPES = ("PER", "LOC", "DATE")


@st.composite
def span_sets(draw):
    """(sorted non-overlapping (type, start, end) spans, sequence length): gaps of 0 make adjacent
    entities, of the same type or not."""
    spans, at = [], 0
    for _ in range(draw(st.integers(0, 8))):
        at += draw(st.integers(0, 3))
        width = draw(st.integers(1, 4))
        spans.append((draw(st.sampled_from(TYPES)), at, at + width))
        at += width
    return spans, at + draw(st.integers(0, 3))


@settings(deadline=None, max_examples=200)
@given(span_sets())
def test_every_scheme_writes_and_reads_back_the_same_entities(case):
    spans, length = case
    written = {s: to_tags(spans, length, s) for s in SCHEMES}
    for scheme, tags in written.items():
        assert len(tags) == length
        assert entities(tags, scheme) == spans
        assert violations(tags, scheme) == []
        assert detect_scheme([tags]) == (scheme if spans else None)
    for source, target in itertools.product(SCHEMES, SCHEMES):
        converted = convert(written[source], source, target)
        assert converted == written[target]
        assert entities(converted, target) == spans


@settings(deadline=None)
@given(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), max_size=20))
def test_any_iob2_sequence_converts_without_losing_entities(tags):
    """Invalid IOB2 too (an I- after O): entities are read leniently, then written validly everywhere."""
    spans = entities(tags, "IOB2")
    for target in SCHEMES:
        converted = convert(tags, "IOB2", target)
        assert entities(converted, target) == spans
        assert violations(converted, target) == []
        assert convert(converted, target, "IOB2") == to_tags(spans, len(tags), "IOB2")

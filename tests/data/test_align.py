"""tfner.data.align: label alignment token by token, windows, and merging window predictions.

The expected arrays were written by hand from the real MiniLM WordPiece tokenizer (uncased), e.g.
"Smithsonianification" -> smithsonian ##ification, "Brando" -> brand ##o, "567" -> 56 ##7.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfner.data.align import IGNORE, Windows, encode, merge
from tfner.data.readers import Corpus, DataError, Document, build_labels

CLS, SEP = 101, 102
X = IGNORE


def tokens_of(tokenizer, ids):
    return tokenizer.convert_ids_to_tokens([int(i) for i in ids])


def gold_ids(windows, labels):
    index = {label: i for i, label in enumerate(labels)}
    return [np.array([index[t] for t in tags]) for tags in windows.gold]


def round_trip(windows):
    """Feed every window's gold label ids back through merge (positions without a label -> 0)."""
    values = [np.where(l == IGNORE, 0, l) for l in windows.labels]
    return merge(windows, values, fill=0)


# --------------------------------------------------------------------------
# Word-level data

WORD_LABELS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]  # O 0, B-LOC 1, I-LOC 2, B-PER 3, I-PER 4


def word_corpus(*docs):
    return Corpus(
        [Document(tokens=t, tags=g, origin=f"words.txt:{i + 1}") for i, (t, g) in enumerate(docs)], "words.txt"
    )


def test_build_labels_order_used_here():
    corpus = word_corpus((["John", "Paris"], ["B-PER", "B-LOC"]))
    assert build_labels(corpus) == WORD_LABELS


def test_word_level_first_subtoken_gets_the_label(tokenizer):
    corpus = word_corpus(
        (["John", "Smithsonianification", "visited", "Paris", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"])
    )
    w = encode(corpus, tokenizer, WORD_LABELS, max_length=32, stride=4)
    assert len(w) == 1
    assert tokens_of(tokenizer, w.input_ids[0]) == [
        "[CLS]",
        "john",
        "smithsonian",
        "##ification",
        "visited",
        "paris",
        ".",
        "[SEP]",
    ]
    assert w.input_ids[0][0] == CLS and w.input_ids[0][-1] == SEP
    assert w.labels[0].tolist() == [X, 3, 4, X, 0, 1, 0, X]
    assert w.unit_index[0].tolist() == [-1, 0, 1, -1, 2, 3, 4, -1]
    assert w.labels[0].dtype == np.int32 and w.input_ids[0].dtype == np.int32
    assert w.prefix == 1
    assert w.units == [5]
    assert w.gold == [["B-PER", "I-PER", "O", "B-LOC", "O"]]
    assert w.offsets == [None]
    assert w.doc_index.tolist() == [0]
    assert w.cut.tolist() == [[0, 6, 6]]
    assert w.skipped == {}


def test_word_level_label_all_tokens_continuations_get_i_form(tokenizer):
    corpus = word_corpus(
        (["Smithsonianification", "Brando", "Smithsonianification", "Paris"], ["B-PER", "I-PER", "O", "B-LOC"])
    )
    w = encode(corpus, tokenizer, WORD_LABELS, max_length=32, stride=4, label_all_tokens=True)
    assert tokens_of(tokenizer, w.input_ids[0]) == [
        "[CLS]",
        "smithsonian",
        "##ification",
        "brand",
        "##o",
        "smithsonian",
        "##ification",
        "paris",
        "[SEP]",
    ]
    # B-PER word: continuation I-PER (never B-); I-PER word: I-PER; O word: O; specials -100
    assert w.labels[0].tolist() == [X, 3, 4, 4, 4, 0, 0, 1, X]
    # unit_index is unchanged by label_all_tokens: only first sub-tokens score a word
    assert w.unit_index[0].tolist() == [-1, 0, -1, 1, -1, 2, -1, 3, -1]
    # and without label_all_tokens the continuations are ignored
    plain = encode(corpus, tokenizer, WORD_LABELS, max_length=32, stride=4)
    assert plain.labels[0].tolist() == [X, 3, X, 4, X, 0, X, 1, X]


def test_word_level_b_continuation_without_i_label_in_list_keeps_label(tokenizer):
    # a label list with B-MISC but no I-MISC: the continuation cannot get I-MISC, keeps B-MISC's id
    labels = ["O", "B-MISC"]
    corpus = word_corpus((["Smithsonianification"], ["B-MISC"]))
    w = encode(corpus, tokenizer, labels, max_length=32, stride=4, label_all_tokens=True)
    assert w.labels[0].tolist() == [X, 1, 1, X]


def test_word_level_unlabelled_document(tokenizer):
    corpus = Corpus([Document(tokens=["John", "Smithsonianification"], tags=None, origin="x")], "x")
    w = encode(corpus, tokenizer, WORD_LABELS, max_length=32, stride=4)
    assert w.labels[0].tolist() == [X] * 5
    assert w.unit_index[0].tolist() == [-1, 0, 1, -1, -1]
    assert w.gold == [None]


def test_word_that_tokenizes_to_nothing_is_counted_and_filled(tokenizer):
    assert tokenizer.tokenize("\u200b") == []  # the zero-width space disappears
    corpus = word_corpus((["John", "\u200b", "Smithsonianification", "x"], ["B-PER", "O", "O", "B-LOC"]))
    w = encode(corpus, tokenizer, WORD_LABELS, max_length=32, stride=4)
    assert tokens_of(tokenizer, w.input_ids[0]) == ["[CLS]", "john", "smithsonian", "##ification", "x", "[SEP]"]
    assert w.unit_index[0].tolist() == [-1, 0, 2, -1, 3, -1]
    assert w.labels[0].tolist() == [X, 3, 0, X, 1, X]
    assert w.units == [4]
    assert w.skipped == {"words with no sub-tokens (predicted O)": 1}
    values = [np.where(l == IGNORE, 0, l) for l in w.labels]
    assert merge(w, values, fill=99)[0].tolist() == [3, 99, 0, 1]
    assert merge(w, values, fill=0)[0].tolist() == [3, 0, 0, 1]  # == gold ids (the word is O)


def test_corpus_skipped_counts_are_carried(tokenizer):
    corpus = word_corpus((["John"], ["B-PER"]))
    corpus.skipped = {"empty document": 2}
    w = encode(corpus, tokenizer, WORD_LABELS, max_length=32, stride=4)
    assert w.skipped == {"empty document": 2}
    assert corpus.skipped == {"empty document": 2}  # not mutated


def test_mixed_word_and_span_documents_raise(tokenizer):
    corpus = Corpus(
        [Document(tokens=["a"], tags=["O"], origin="a"), Document(text="b", spans=[], origin="b")], "mixed.src"
    )
    with pytest.raises(DataError, match="mixed.src.*mixes word-level and span"):
        encode(corpus, tokenizer, ["O"], max_length=32, stride=4)


# --------------------------------------------------------------------------
# Span data

NOTE = "Patient Marlon Brando, phone +47 912 34 567, born January 01. 1982."
NOTE_SPANS = [(8, 21, "PATIENT"), (29, 43, "PHONE"), (50, 66, "DATE")]
NOTE_TOKENS = [
    "patient",
    "marlon",
    "brand",
    "##o",
    ",",
    "phone",
    "+",
    "47",
    "91",
    "##2",
    "34",
    "56",
    "##7",
    ",",
    "born",
    "january",
    "01",
    ".",
    "1982",
    ".",
]
NOTE_OFFSETS = [
    (0, 7),
    (8, 14),
    (15, 20),
    (20, 21),
    (21, 22),
    (23, 28),
    (29, 30),
    (30, 32),
    (33, 35),
    (35, 36),
    (37, 39),
    (40, 42),
    (42, 43),
    (43, 44),
    (45, 49),
    (50, 57),
    (58, 60),
    (60, 61),
    (62, 66),
    (66, 67),
]
SPAN_LABELS = ["O", "B-DATE", "I-DATE", "B-PATIENT", "I-PATIENT", "B-PHONE", "I-PHONE"]


def span_corpus(*docs, source="notes.jsonl"):
    return Corpus(
        [Document(text=t, spans=s, origin=f"{source}:record {i + 1}") for i, (t, s) in enumerate(docs)], source
    )


def test_span_text_is_as_expected():
    assert [NOTE[a:b] for a, b, _ in NOTE_SPANS] == ["Marlon Brando", "+47 912 34 567", "January 01. 1982"]
    # each span ends right before punctuation
    assert [NOTE[b] for _, b, _ in NOTE_SPANS] == [",", ",", "."]
    assert build_labels(span_corpus((NOTE, NOTE_SPANS))) == SPAN_LABELS


def test_span_alignment_token_by_token(tokenizer):
    w = encode(span_corpus((NOTE, NOTE_SPANS)), tokenizer, SPAN_LABELS, max_length=64, stride=8)
    assert len(w) == 1
    assert tokens_of(tokenizer, w.input_ids[0]) == ["[CLS]"] + NOTE_TOKENS + ["[SEP]"]
    #                  patient marlon brand ##o ,  phone + 47 91 ##2 34 56 ##7 ,  born jan 01 .  1982 .
    assert w.labels[0].tolist() == [X, 0, 3, 4, 4, 0, 0, 5, 6, 6, 6, 6, 6, 6, 0, 0, 1, 2, 2, 2, 0, X]
    assert w.unit_index[0].tolist() == [-1] + list(range(20)) + [-1]
    assert w.gold == [
        ["O", "B-PATIENT", "I-PATIENT", "I-PATIENT", "O", "O", "B-PHONE"]
        + ["I-PHONE"] * 6
        + ["O", "O", "B-DATE", "I-DATE", "I-DATE", "I-DATE", "O"]
    ]
    assert w.units == [20]
    assert w.offsets[0].tolist() == [list(o) for o in NOTE_OFFSETS]
    enc = tokenizer(NOTE, add_special_tokens=False, return_offsets_mapping=True)
    assert w.offsets[0].tolist() == [list(o) for o in enc["offset_mapping"]]
    assert w.cut.tolist() == [[0, 20, 20]]


def test_span_label_all_tokens_changes_nothing(tokenizer):
    a = encode(span_corpus((NOTE, NOTE_SPANS)), tokenizer, SPAN_LABELS, max_length=64, stride=8)
    b = encode(span_corpus((NOTE, NOTE_SPANS)), tokenizer, SPAN_LABELS, max_length=64, stride=8, label_all_tokens=True)
    assert a.labels[0].tolist() == b.labels[0].tolist()


def test_span_adjacent_entities_each_start_with_b(tokenizer):
    text = "Marlon Brando"
    w = encode(
        span_corpus((text, [(0, 6, "PATIENT"), (7, 13, "PATIENT")])), tokenizer, SPAN_LABELS, max_length=32, stride=4
    )
    assert w.gold == [["B-PATIENT", "B-PATIENT", "I-PATIENT"]]
    assert w.labels[0].tolist() == [X, 3, 3, 4, X]


def test_span_on_subtoken_boundary_is_accepted(tokenizer):
    # "Brand" of "Brando" ends on the brand|##o sub-token boundary: accepted as a token-level span
    w = encode(span_corpus(("Marlon Brando", [(7, 12, "PATIENT")])), tokenizer, SPAN_LABELS, max_length=32, stride=4)
    assert w.gold == [["O", "B-PATIENT", "O"]]


def test_span_unlabelled_document(tokenizer):
    corpus = Corpus([Document(text="Marlon Brando", spans=None, origin="x")], "x")
    w = encode(corpus, tokenizer, SPAN_LABELS, max_length=32, stride=4)
    assert w.gold == [None]
    assert w.labels[0].tolist() == [X] * 5
    assert w.unit_index[0].tolist() == [-1, 0, 1, 2, -1]


def test_span_starting_inside_a_word_raises(tokenizer):
    corpus = span_corpus(("Marlon Brando", [(1, 6, "PATIENT")]))
    with pytest.raises(DataError) as e:
        encode(corpus, tokenizer, SPAN_LABELS, max_length=32, stride=4)
    message = str(e.value)
    assert "notes.jsonl:record 1" in message
    assert "[1, 6)" in message and "PATIENT" in message and "'arlon'" in message
    assert "token boundaries" in message
    assert "'Marlon' is at [0, 6)" in message


def test_span_ending_inside_a_word_raises(tokenizer):
    corpus = span_corpus(("Marlon Brando", [(0, 11, "PATIENT")]))  # "Marlon Bran"
    with pytest.raises(DataError) as e:
        encode(corpus, tokenizer, SPAN_LABELS, max_length=32, stride=4)
    message = str(e.value)
    assert "notes.jsonl:record 1" in message and "[0, 11)" in message and "token boundaries" in message
    assert "'Brand' is at [7, 12)" in message


def test_span_covering_only_whitespace_raises(tokenizer):
    corpus = span_corpus(("a  b", [(1, 3, "PATIENT")]))
    with pytest.raises(DataError) as e:
        encode(corpus, tokenizer, SPAN_LABELS, max_length=32, stride=4)
    assert "notes.jsonl:record 1" in str(e.value) and "[1, 3)" in str(e.value)
    assert "covers no token" in str(e.value)


TABLE = "Patient\tAge\tPhone\nMarlon Brando\t41\t912 34 567"
TABLE_SPANS = [(18, 31, "PATIENT"), (35, 45, "PHONE")]


def test_table_view_tokens_read_the_headers_and_offsets_stay_on_the_original(tokenizer):
    assert [TABLE[a:b] for a, b, _ in TABLE_SPANS] == ["Marlon Brando", "912 34 567"]
    plain = encode(span_corpus((TABLE, TABLE_SPANS)), tokenizer, SPAN_LABELS, max_length=64, stride=8)
    w = encode(span_corpus((TABLE, TABLE_SPANS)), tokenizer, SPAN_LABELS, max_length=64, stride=8, table_view=True)
    # patient age phone | patient : marlon brand ##o | age : 41 | phone : 91 ##2 34 56 ##7
    assert tokens_of(tokenizer, w.input_ids[0])[1:-1] == (
        ["patient", "age", "phone", "patient", ":", "marlon", "brand", "##o", "age", ":", "41"]
        + ["phone", ":", "91", "##2", "34", "56", "##7"]
    )
    assert w.gold[0] == ["O"] * 5 + ["B-PATIENT", "I-PATIENT", "I-PATIENT"] + ["O"] * 5 + ["B-PHONE"] + ["I-PHONE"] * 4
    header = [(18, 18), (18, 18)]  # a token of an inserted header: the empty offset at its cell's start
    assert w.offsets[0].tolist() == (
        [[0, 7], [8, 11], [12, 17]]
        + [list(o) for o in header]
        + [[18, 24], [25, 30], [30, 31]]
        + [[32, 32], [32, 32], [32, 34]]
        + [[35, 35], [35, 35], [35, 37], [37, 38], [39, 41], [42, 44], [44, 45]]
    )
    assert w.documents[0].text == TABLE  # the document as given
    # the same entities as without the view, on the original text
    entity = lambda win: [(int(win.offsets[0][i][0]), t) for i, t in enumerate(win.gold[0]) if t.startswith("B-")]
    assert entity(w) == entity(plain) == [(18, "B-PATIENT"), (35, "B-PHONE")]


def test_table_view_misaligned_span_message_gives_the_original_offsets(tokenizer):
    corpus = span_corpus((TABLE, [(19, 31, "PATIENT")]))  # "arlon Brando"
    with pytest.raises(DataError) as e:
        encode(corpus, tokenizer, SPAN_LABELS, max_length=64, stride=8, table_view=True)
    assert "[19, 31) PATIENT 'arlon Brando'" in str(e.value)
    assert "'marlon' is at [18, 24)" in str(e.value).lower()


def test_misaligned_skip_drops_the_document_and_counts_it(tokenizer):
    corpus = span_corpus(("Marlon Brando", [(1, 6, "PATIENT")]), (NOTE, NOTE_SPANS), ("a  b", [(1, 3, "PATIENT")]))
    w = encode(corpus, tokenizer, SPAN_LABELS, max_length=64, stride=8, misaligned="skip")
    assert w.skipped == {"documents with a span off token boundaries": 2}
    assert [d.origin for d in w.documents] == ["notes.jsonl:record 2"]
    assert len(w) == 1 and w.doc_index.tolist() == [0]
    assert w.units == [20] and len(w.gold) == 1 and len(w.offsets) == 1
    assert w.labels[0].tolist() == [X, 0, 3, 4, 4, 0, 0, 5, 6, 6, 6, 6, 6, 6, 0, 0, 1, 2, 2, 2, 0, X]


# --------------------------------------------------------------------------
# Windows

SENTENCE = (
    "the cat sat on a mat and the dog ran to the park while the bird sang in a tree near our old red house by a lake"
).split()  # 28 words, one sub-token each


def check_windows(w, tokenizer, doc_ids, max_length, stride, d=0):
    rows = [i for i in range(len(w)) if w.doc_index[i] == d]
    cuts = w.cut[rows]
    width = max_length - 2
    seen = np.zeros(len(doc_ids), bool)
    for i, (s, e, n) in zip(rows, cuts):
        ids = w.input_ids[i]
        assert len(ids) <= max_length
        assert ids[0] == CLS and ids[-1] == SEP
        assert CLS not in ids[1:-1] and SEP not in ids[1:-1]
        assert ids[1:-1].tolist() == doc_ids[s:e].tolist()
        assert n == len(doc_ids) and e - s <= width
        assert len(w.labels[i]) == len(ids) == len(w.unit_index[i])
        assert w.labels[i][0] == IGNORE and w.labels[i][-1] == IGNORE
        seen[s:e] = True
    assert seen.all()
    assert cuts[0][0] == 0 and cuts[-1][1] == len(doc_ids)
    for (_, e0, _), (s1, e1, _) in zip(cuts, cuts[1:]):
        assert s1 < e0 and e1 > e0  # overlapping, moving forward
    return cuts


def test_windows_exact_fit_overlap_by_stride(tokenizer):
    words = SENTENCE[:24]
    corpus = word_corpus((words, ["O"] * 24))
    w = encode(corpus, tokenizer, WORD_LABELS, max_length=12, stride=3)
    doc_ids = np.array(tokenizer(words, is_split_into_words=True, add_special_tokens=False)["input_ids"])
    assert len(doc_ids) == 24
    cuts = check_windows(w, tokenizer, doc_ids, 12, 3)
    assert cuts.tolist() == [[0, 10, 24], [7, 17, 24], [14, 24, 24]]
    assert [e0 - s1 for (_, e0, _), (s1, _, _) in zip(cuts, cuts[1:])] == [3, 3]
    assert all(len(ids) == 12 for ids in w.input_ids)
    assert tokens_of(tokenizer, w.input_ids[1]) == ["[CLS]"] + SENTENCE[7:17] + ["[SEP]"]
    assert w.unit_index[1].tolist() == [-1] + list(range(7, 17)) + [-1]


def test_windows_last_window_ends_at_document_end(tokenizer):
    corpus = word_corpus((SENTENCE, ["O"] * 28))
    w = encode(corpus, tokenizer, WORD_LABELS, max_length=12, stride=3)
    doc_ids = np.array(tokenizer(SENTENCE, is_split_into_words=True, add_special_tokens=False)["input_ids"])
    cuts = check_windows(w, tokenizer, doc_ids, 12, 3)
    # windows step by width - stride = 7; the last one is moved back to end on the last token, full width
    assert cuts.tolist() == [[0, 10, 28], [7, 17, 28], [14, 24, 28], [18, 28, 28]]
    overlaps = [e0 - s1 for (_, e0, _), (s1, _, _) in zip(cuts, cuts[1:])]
    assert overlaps[:-1] == [3, 3] and overlaps[-1] >= 3


@pytest.mark.parametrize(
    "n, expected",
    [
        (10, [[0, 10, 10]]),  # exactly one window's content
        (11, [[0, 10, 11], [1, 11, 11]]),  # one token too many
        (17, [[0, 10, 17], [7, 17, 17]]),
        (0, [[0, 0, 0]]),
    ],
)
def test_window_cuts_for_lengths(tokenizer, n, expected):
    text = " ".join(SENTENCE[:n])
    corpus = span_corpus((text, []))
    w = encode(corpus, tokenizer, ["O"], max_length=12, stride=3)
    assert w.cut.tolist() == expected
    assert w.units == [n]
    if n == 0:
        assert w.input_ids[0].tolist() == [CLS, SEP]


def test_windows_of_several_documents(tokenizer):
    corpus = word_corpus((SENTENCE[:5], ["O"] * 5), (SENTENCE, ["O"] * 28), (SENTENCE[:12], ["O"] * 12))
    w = encode(corpus, tokenizer, WORD_LABELS, max_length=12, stride=3)
    assert w.doc_index.tolist() == [0, 1, 1, 1, 1, 2, 2]
    assert w.cut.tolist() == [[0, 5, 5], [0, 10, 28], [7, 17, 28], [14, 24, 28], [18, 28, 28], [0, 10, 12], [2, 12, 12]]
    assert w.units == [5, 28, 12]


def test_stride_must_be_smaller_than_content_width(tokenizer):
    corpus = word_corpus((["a"], ["O"]))
    with pytest.raises(ValueError, match="stride 10 .* 10 content tokens"):
        encode(corpus, tokenizer, WORD_LABELS, max_length=12, stride=10)
    with pytest.raises(ValueError, match="stride"):
        encode(corpus, tokenizer, WORD_LABELS, max_length=12, stride=11)
    assert len(encode(corpus, tokenizer, WORD_LABELS, max_length=12, stride=9)) == 1


# --------------------------------------------------------------------------
# Merging window predictions back onto documents

LONG_NOTE = (NOTE + " ") * 3 + "Kari Nordmann called from +47 22 33 44 55 on 2021-03-04."


def long_span_corpus():
    spans = []
    for k in range(3):
        spans += [(a + k * (len(NOTE) + 1), b + k * (len(NOTE) + 1), l) for a, b, l in NOTE_SPANS]
    tail = 3 * (len(NOTE) + 1)
    extra = [("Kari Nordmann", "PATIENT"), ("+47 22 33 44 55", "PHONE"), ("2021-03-04", "DATE")]
    for piece, label in extra:
        at = LONG_NOTE.index(piece, tail)
        spans.append((at, at + len(piece), label))
    return span_corpus((LONG_NOTE, spans), (NOTE, NOTE_SPANS), ("Marlon Brando", [(0, 13, "PATIENT")]))


def test_merge_round_trip_span_documents(tokenizer):
    corpus = long_span_corpus()
    w = encode(corpus, tokenizer, SPAN_LABELS, max_length=12, stride=3)
    assert w.units[0] > 60 and (w.doc_index == 0).sum() >= 8  # really windowed
    assert w.gold[0].count("B-PATIENT") == 4 and w.gold[0].count("B-DATE") == 4
    merged = round_trip(w)
    gold = gold_ids(w, SPAN_LABELS)
    assert len(merged) == 3
    for m, g in zip(merged, gold):
        assert m.tolist() == g.tolist()
    assert w.gold[1] == encode(span_corpus((NOTE, NOTE_SPANS)), tokenizer, SPAN_LABELS, 64, 8).gold[0]


@pytest.mark.parametrize("label_all_tokens", [False, True])
def test_merge_round_trip_word_documents(tokenizer, label_all_tokens):
    words = (
        "John Smithsonianification met Marlon Brando in Paris while Kari Nordmann stayed in "
        "Smithsonianification near Oslo and the old red house by a lake"
    ).split()
    tags = [
        "B-PER",
        "I-PER",
        "O",
        "B-PER",
        "I-PER",
        "O",
        "B-LOC",
        "O",
        "B-PER",
        "I-PER",
        "O",
        "O",
        "B-LOC",
        "O",
        "B-LOC",
        "O",
        "O",
        "O",
        "O",
        "O",
        "O",
        "O",
        "O",
    ]
    assert len(words) == len(tags)
    corpus = word_corpus((words, tags), (words[:3], tags[:3]), (words[::-1], tags[::-1]))
    w = encode(corpus, tokenizer, WORD_LABELS, max_length=12, stride=3, label_all_tokens=label_all_tokens)
    assert (w.doc_index == 0).sum() >= 3
    merged = round_trip(w)
    for m, g in zip(merged, gold_ids(w, WORD_LABELS)):
        assert m.tolist() == g.tolist()
    assert merged[0].tolist()[:5] == [3, 4, 0, 3, 4]


def test_merge_prefers_the_window_farthest_from_a_cut(tokenizer):
    words = SENTENCE[:24]
    w = encode(word_corpus((words, ["O"] * 24)), tokenizer, WORD_LABELS, max_length=12, stride=3)
    assert w.cut.tolist() == [[0, 10, 24], [7, 17, 24], [14, 24, 24]]
    # every position of window k says k + 1: the merged value tells which window won each word
    values = [np.full(len(ids), k + 1) for k, ids in enumerate(w.input_ids)]
    merged = merge(w, values, fill=0)[0]
    # token 7: window 0 (2 from its cut) beats window 1 (0 from its cut); token 8: tie 1/1, first wins;
    # token 9: window 1 (2) beats window 0 (0); tokens 14/15/16 likewise between windows 1 and 2.
    assert merged.tolist() == [1] * 9 + [2] * 7 + [3] * 8


def test_merge_rows_of_logits_and_dtype(tokenizer):
    words = SENTENCE[:24]
    w = encode(word_corpus((words, ["O"] * 24)), tokenizer, WORD_LABELS, max_length=12, stride=3)
    # a (positions, 2) row per position: (window, document token position)
    values = []
    for k, (s, e, _) in enumerate(w.cut):
        rows = np.full((len(w.input_ids[k]), 2), -1.0, np.float32)
        rows[1:-1, 0] = k
        rows[1:-1, 1] = np.arange(s, e)
        values.append(rows)
    merged = merge(w, values, fill=-5.0)[0]
    assert merged.shape == (24, 2) and merged.dtype == np.float32
    assert merged[:, 1].tolist() == list(range(24))  # each word got its own position's row
    assert merged[:, 0].tolist() == [0] * 9 + [1] * 7 + [2] * 8


def test_merge_hand_made_windows():
    # two windows over one 6-token document, content [0, 4) and [2, 6); prefix 1
    w = Windows(
        input_ids=[np.zeros(6, np.int32), np.zeros(6, np.int32)],
        labels=[None, None],
        unit_index=[np.array([-1, 0, 1, 2, 3, -1]), np.array([-1, 2, 3, 4, 5, -1])],
        doc_index=np.array([0, 0]),
        cut=np.array([[0, 4, 6], [2, 6, 6]]),
        prefix=1,
        units=[6],
        gold=[None],
        offsets=[None],
        documents=[None],
    )
    a = np.array([0, 10, 11, 12, 13, 0])
    b = np.array([0, 20, 21, 22, 23, 0])
    # token 2: window a 1 from its cut, window b 0 -> a; token 3: a 0, b 1 -> b
    assert merge(w, [a, b], fill=-1)[0].tolist() == [10, 11, 12, 21, 22, 23]
    # order of the windows does not matter when there is no tie
    w2 = Windows(
        input_ids=w.input_ids[::-1],
        labels=[None, None],
        unit_index=w.unit_index[::-1],
        doc_index=w.doc_index,
        cut=w.cut[::-1],
        prefix=1,
        units=[6],
        gold=[None],
        offsets=[None],
        documents=[None],
    )
    assert merge(w2, [b, a], fill=-1)[0].tolist() == [10, 11, 12, 21, 22, 23]


# Word starts and breaks ------------------------------------------------------------------------------


def test_word_starts_mark_the_words_after_a_line_break_a_tab_or_a_column_gap(tokenizer):
    from tfner.data.align import BREAK, INSIDE, WORD

    text = "Jani  23.03.2004\nVirtanen\tx y"
    windows = encode(Corpus([Document(text=text, spans=[])], "<t>"), tokenizer, ["O"], 64, 8)
    offsets, starts = windows.offsets[0], windows.word_starts[0]
    at = {int(a): int(s) for (a, _), s in zip(offsets, starts)}
    assert at[text.index("Jani")] == WORD  # the first word: nothing before it to continue
    assert at[text.index("23")] == BREAK  # two spaces before it
    assert at[text.index(".")] == at[text.index("03")] == INSIDE  # "23.03.2004" is one word (a joiner)
    assert at[text.index("Virtanen")] == BREAK  # a line break
    assert at[text.index("x")] == BREAK and at[text.index("y")] == WORD  # a tab; one space
    pieces = sum(t.startswith("##") for t in tokenizer.tokenize(text))
    assert (starts == INSIDE).sum() == pieces + 4  # and the two joiners of the date and what follows each


def test_line_starts_are_the_break_words_of_each_window(tokenizer):
    """Windows.line_starts: 1 at each window position whose unit is a word's first token after a break
    (the model's token type ids), 0 at special tokens and elsewhere; the same unit gets the same flag in
    every window that holds it. Word-level data has none."""
    from tfner.data.align import BREAK

    text = "Name:  Jani Virtanen\nDOB\t23.03.2004\nAge 41 and more words to cut windows here\nEnd"
    windows = encode(Corpus([Document(text=text, spans=[])], "<t>"), tokenizer, ["O"], 12, 3)
    assert len(windows) > 2
    starts = windows.word_starts[0]
    for units, flags in zip(windows.unit_index, windows.line_starts()):
        assert flags.dtype == np.int32 and len(flags) == len(units)
        assert flags[units < 0].sum() == 0
        assert flags[units >= 0].tolist() == (starts[units[units >= 0]] == BREAK).astype(int).tolist()
    flagged = {int(u) for units, f in zip(windows.unit_index, windows.line_starts()) for u in units[f == 1]}
    offsets = windows.offsets[0]
    first_tokens = sorted(text[offsets[u][0] : offsets[u][1]] for u in flagged)
    assert first_tokens == ["23", "Age", "DO", "End", "Jan"]  # of "jan ##i", "do ##b"
    words = encode(word_corpus((["Jani", "Virtanen"], ["B-PER", "I-PER"])), tokenizer, WORD_LABELS, 12, 3)
    assert [f.tolist() for f in words.line_starts()] == [[0] * len(words.input_ids[0])]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ab", "Zoë", "12", "7", ".", "-", "/", "'", ",", "x"]),
            st.sampled_from(["", "", "", " ", "  ", "\n", "\t", " \r\n", "   "]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_word_starts_agree_with_a_reading_of_the_text(pieces):
    """Each piece is a tokenizer word. A word starts BREAK exactly when the whitespace before it holds a
    line break, tab or two spaces; a joiner touching two letters or two digits, and the word after it,
    continue the word before."""
    import re

    from tfner.data.align import BREAK, INSIDE, WORD, word_starts

    words = [w for w, _ in pieces]
    gaps = [""] + [g for _, g in pieces][:-1]  # the whitespace before each piece
    kind = lambda ch: "digit" if ch.isdigit() else "letter" if ch.isalpha() else None
    expected = [BREAK if n and re.search(r"[\n\r\t]|  ", gaps[n]) else WORD for n in range(len(words))]
    for n in range(1, len(words) - 1):
        touching = gaps[n] == gaps[n + 1] == ""
        same = kind(words[n - 1][-1]) == kind(words[n + 1][0]) is not None
        if words[n] in "-./'" and touching and same:
            expected[n] = expected[n + 1] = INSIDE
    text, offsets = "", []
    for word, space in pieces:
        offsets.append((len(text), len(text) + len(word)))
        text += word + space
    assert list(word_starts(text, np.array(offsets), list(range(len(words))))) == expected

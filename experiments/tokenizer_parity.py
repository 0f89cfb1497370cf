"""Parity of predict_text's in-graph tokenizers with the Hugging Face fast tokenizers.

    python -m experiments.tokenizer_parity            # 2,000 CoNLL sentences + 2,000 notes
    python -m experiments.tokenizer_parity --n 500

Texts: CoNLL-2003 valid sentences (words joined by spaces) and `tfner.data.notes.generate_notes` notes
in every locale (non-ASCII, runs of spaces, newlines, tables). Tokenizers: MiniLM's WordPiece (the
real vocabulary), a byte-level BPE trained here on other notes and wrapped in `RobertaTokenizerFast`
(with and without `add_prefix_space`), and a SentencePiece unigram model trained here and wrapped in
`XLMRobertaTokenizerFast`. Per tokenizer: texts whose ids, offsets and word starts equal the fast
tokenizer's, and the in-graph tokenization time. Writes results/tokenizer_parity.{json,md}.
"""

import argparse
import os
import tempfile
import time

from experiments.common import require_conll, write_results


def conll_sentences(path, n):
    sentences, words = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("-DOCSTART-"):
                continue
            if line.strip():
                words.append(line.split()[0])
            elif words:
                sentences.append(" ".join(words))
                words = []
    return sentences[:n]


def build_tokenizers(folder):
    import sentencepiece
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast, XLMRobertaTokenizerFast

    from tfner.data.notes import generate_notes
    from tfner.model.encoders import load_tokenizer

    train = [n["text"] for n in generate_notes(300, seed=99)]  # other notes than the measured ones
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(train, vocab_size=2000, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(folder)
    vocab, merges = os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
    prefix = os.path.join(folder, "sp")
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(train), model_prefix=prefix, vocab_size=2000, character_coverage=1.0, minloglevel=2
    )
    return {
        "WordPiece (MiniLM, uncased)": load_tokenizer("minilm"),
        "byte-level BPE (RoBERTa)": RobertaTokenizerFast(vocab, merges),
        "byte-level BPE (RoBERTa, add_prefix_space)": RobertaTokenizerFast(vocab, merges, add_prefix_space=True),
        "SentencePiece unigram (XLM-R)": XLMRobertaTokenizerFast(vocab_file=prefix + ".model"),
    }


def measure(name, tokenizer, texts, folder):
    import tensorflow as tf

    from tfner.serving.tokenizers import for_tokenizer

    saved = os.path.join(folder, name.split()[0])
    tokenizer.save_pretrained(saved)
    module, why = for_tokenizer(tokenizer, saved)
    if module is None:
        return {"tokenizer": name, "error": why}
    tokenize = tf.function(module.tokenize, input_signature=[tf.TensorSpec([None], tf.string)])
    tokenize(tf.constant(texts[:2]))  # trace
    start = time.perf_counter()
    ids, starts, ends, first = (t.to_list() for t in tokenize(tf.constant(texts)))
    seconds = time.perf_counter() - start
    enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    same_ids = same_offsets = same_words = sliced = runs = 0
    for n, text in enumerate(texts):
        sliced += all(0 <= s <= e <= len(text) for s, e in zip(starts[n], ends[n]))
        if ids[n] != enc["input_ids"][n]:
            got, want = (tokenizer.convert_ids_to_tokens(x) for x in (ids[n], enc["input_ids"][n]))
            # the same text cut elsewhere, only in runs of one repeated character (`-----`, `^^`)
            runs += "".join(got) == "".join(want) and all(len(set(t)) == 1 for t in set(got) ^ set(want))
            continue
        same_ids += 1
        same_offsets += list(zip(starts[n], ends[n])) == [tuple(o) for o in enc["offset_mapping"][n]]
        words = enc.word_ids(n)
        same_words += first[n] == [k == 0 or words[k] != words[k - 1] for k in range(len(words))]
    tokens = sum(len(x) for x in enc["input_ids"])
    return {
        "tokenizer": name,
        "texts": len(texts),
        "tokens": tokens,
        "ids_equal": same_ids,
        "ids_differ_only_in_one_character_runs": runs,
        "offsets_equal": same_offsets,
        "word_starts_equal": same_words,
        "offsets_inside_text": sliced,
        "seconds": round(seconds, 2),
        "tokens_per_s": round(tokens / seconds),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="CoNLL sentences and notes each")
    args = parser.parse_args(argv)
    from tfner.data.notes import generate_notes

    _, valid = require_conll()
    texts = conll_sentences(valid, args.n) + [n["text"] for n in generate_notes(args.n, seed=1)]
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(name, tok, texts, folder) for name, tok in build_tokenizers(folder).items()]
    lines = [
        f"{len(texts)} texts ({args.n} CoNLL-2003 valid sentences, {args.n} notes in every locale)",
        "",
        "| tokenizer | ids equal | others: only runs of one character cut elsewhere | offsets equal | word starts equal "
        "| offsets inside the text | tokens/s in graph |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['tokenizer']} | not exported: {r['error']} | | | | | |")
            continue
        lines.append(
            f"| {r['tokenizer']} | {r['ids_equal']}/{r['texts']} | "
            f"{r['ids_differ_only_in_one_character_runs']}/{r['texts'] - r['ids_equal']} | {r['offsets_equal']}/{r['texts']} | "
            f"{r['word_starts_equal']}/{r['texts']} | {r['offsets_inside_text']}/{r['texts']} | {r['tokens_per_s']:,} |"
        )
    lines += [
        "",
        "Offsets and word starts are compared on the texts whose ids are equal. Where ids differ, the third",
        "column counts texts whose pieces join to the same string and differ only in pieces that repeat one",
        "character (`-----`, `^^^`): ties between equal-score cuts, broken otherwise than `tokenizers` does.",
        "",
        "Command: `nice -n 15 .venv/bin/python -m experiments.tokenizer_parity`",
    ]
    write_results("tokenizer_parity", {"texts": len(texts), "rows": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()

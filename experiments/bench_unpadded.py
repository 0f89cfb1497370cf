"""Would dropping the padding from the encoder's dense layers make a training step faster? (issue 17)

    python experiments/bench_unpadded.py [--sentences 1600] [--rounds 3]  (--rounds 4 for the README figure)

tfner's bucketed batches still pad about 9 % of the tokens of CoNLL-2003, and the dense products
(query/key/value, attention output, feed-forward: about 80 % of a MiniLM step's time) run over the
padding too. The "unpadded" forward here is the BERT encoder of the same weights with every dense layer,
layer norm and GELU over the real tokens only (gathered into one (tokens, hidden) row), padding put
back only around the attention products (scatter, masked attention as Hugging Face does it, gather):
the same arithmetic on the real tokens (the script checks the outputs), less of it, plus a scatter and
a gather per layer. Timed: forward + backward of the encoder (gradients of every weight, no optimizer)
over the same bucketed batches (`make_dataset(padding="buckets")`, batch 32), both functions warmed up
on every batch length first, the two alternating round by round; the median of the rounds.

Writes experiments/results/bench_unpadded.{json,md}. Needs ../shared/datasets/conll2003.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflow as tf  # noqa: E402

import tfner  # noqa: E402,F401
from experiments.bench_train import matmul_peak  # noqa: E402
from experiments.common import require_conll, write_results  # noqa: E402
from tfner.data.batching import make_dataset, padding_figures  # noqa: E402
from tfner.data.readers import Corpus, build_labels, read_conll  # noqa: E402
from tfner.model.tagger import Tagger  # noqa: E402
from tfner.training.config import TrainConfig  # noqa: E402


def unpadded_encoder(bert):
    """`(input_ids, attention_mask, training) -> last hidden state` of a TFBertMainLayer, dense work on
    real tokens only. Hidden states travel as (1, tokens, hidden): the layers' LayerNormalization was
    built for rank-3 inputs."""

    def attention(sa, h, at, batch, length, mask_add, training):
        size, heads, d = sa.all_head_size, sa.num_attention_heads, sa.attention_head_size
        qkv = tf.concat([sa.query(h), sa.key(h), sa.value(h)], -1)[0]
        qkv = tf.reshape(tf.scatter_nd(at, qkv, [batch * length, 3 * size]), [batch, length, 3, heads, d])
        q, k, v = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4]))
        scores = tf.matmul(q, k, transpose_b=True) / tf.cast(sa.sqrt_att_head_size, h.dtype) + mask_add
        probs = sa.dropout(tf.nn.softmax(scores, -1), training=training)
        out = tf.reshape(tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3]), [batch * length, size])
        return tf.gather(out, at[:, 0])[None]

    def forward(ids, mask, training):
        batch, length = tf.shape(ids)[0], tf.shape(ids)[1]
        embedded = bert.embeddings(input_ids=ids, training=training)
        at = tf.where(tf.reshape(mask, [-1]) > 0)
        h = tf.gather(tf.reshape(embedded, [batch * length, -1]), at[:, 0])[None]
        mask_add = (1.0 - tf.cast(mask, h.dtype))[:, None, None, :] * -10000.0
        for layer in bert.encoder.layer:
            a = attention(layer.attention.self_attention, h, at, batch, length, mask_add, training)
            a = layer.attention.dense_output(a, h, training=training)
            h = layer.bert_output(layer.intermediate(a), a, training=training)
        return tf.reshape(tf.scatter_nd(at, h[0], [batch * length, tf.shape(h)[-1]]), [batch, length, -1])

    return forward


def train_step(forward, variables):
    """Forward + backward over every encoder weight; the loss reads the real tokens only."""

    @tf.function(reduce_retracing=True)
    def step(ids, mask):
        with tf.GradientTape() as tape:
            out = forward(ids, mask, True)
            loss = tf.reduce_mean(tf.square(tf.boolean_mask(out, tf.cast(mask, tf.bool))))
        grads = tape.gradient(loss, variables)
        return tf.add_n([tf.reduce_sum(tf.convert_to_tensor(g)) for g in grads if g is not None])

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=1600, help="the first N sentences; 0: the whole train set")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--name", default="bench_unpadded")
    args = parser.parse_args()
    if args.sentences < 0 or args.rounds < 1:
        parser.error(f"--sentences must be >= 0 and --rounds >= 1, got {args.sentences} and {args.rounds}")
    train_path, _ = require_conll()
    full = read_conll(train_path)
    args.sentences = args.sentences or len(full.documents)
    corpus = Corpus(full.documents[: args.sentences], full.source)
    config = TrainConfig.from_dict({"head": "linear", "max_length": 128})
    tagger = Tagger.build(config.model, build_labels(full))
    bert = tagger.encoder.bert
    windows = tagger.encode(corpus)
    pad = tagger.tokenizer.pad_token_id
    batches = [
        (x["input_ids"], x["attention_mask"])
        for x, _ in make_dataset(windows, 32, pad, shuffle=True, seed=0, padding="buckets", max_length=128)
    ]
    padding = padding_figures(windows, 32, "buckets", max_length=128)["padding_share"]

    stock = lambda ids, mask, training: bert(input_ids=ids, attention_mask=mask, training=training)[0]
    unpadded = unpadded_encoder(bert)
    worst = 0.0
    for ids, mask in batches[:: max(len(batches) // 8, 1)]:
        real = tf.cast(mask, tf.bool)
        a, b = stock(ids, mask, False), unpadded(ids, mask, False)
        worst = max(worst, float(tf.reduce_max(tf.abs(tf.boolean_mask(a - b, real)))))
    print(f"largest difference at real tokens (inference): {worst:.2e}", flush=True)

    steps = {
        "stock": train_step(stock, bert.trainable_variables),
        "unpadded": train_step(unpadded, bert.trainable_variables),
    }
    for step in steps.values():  # every batch length traced before the clock starts
        for ids, mask in {int(ids.shape[1]): (ids, mask) for ids, mask in batches}.values():
            step(ids, mask)
    peak = matmul_peak(tf.float32)
    seconds = {name: [] for name in steps}
    for r in range(args.rounds):
        for name in steps if r % 2 == 0 else reversed(list(steps)):
            start = time.perf_counter()
            for ids, mask in batches:
                out = steps[name](ids, mask)
            out.numpy()
            seconds[name].append(time.perf_counter() - start)
        print(f"round {r + 1}: " + ", ".join(f"{n} {s[-1]:.1f} s" for n, s in seconds.items()), flush=True)
    median = {name: statistics.median(s) for name, s in seconds.items()}
    ratios = [a / b for a, b in zip(seconds["stock"], seconds["unpadded"])]  # same round: the machine's drift cancels
    rows = [
        f"| {name} | {' / '.join(f'{s:.1f}' for s in seconds[name])} | {median[name]:.1f} | "
        f"{len(windows) / median[name]:.1f} |"
        for name in steps
    ]
    table = "\n".join(
        [
            f"MiniLM encoder forward + backward (no optimizer), CoNLL-2003 train first {args.sentences} sentences "
            f"({len(windows)} windows, {len(batches)} bucketed batches of 32, {padding:.1%} of the tokens padding), "
            f"float32, {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}; rounds alternate the order. "
            f"Float32 matrix-product peak {peak:.0f} GFLOP/s. Largest output difference at real tokens "
            f"(inference, 8 batches): {worst:.1e}.",
            "",
            "| encoder | seconds per pass, each round | median s | windows/s |",
            "|---|---|---|---|",
            *rows,
            "",
            f"Unpadded vs stock, round by round (stock seconds / unpadded seconds): "
            f"{' / '.join(f'{r:.2f}x' for r in ratios)}; median **{statistics.median(ratios):.2f}x**.",
        ]
    )
    write_results(args.name, {"args": vars(args), "padding_share": padding, "max_abs_diff": worst,
                              "fp32_peak_gflops": peak, "seconds": seconds, "ratios": ratios}, table)  # fmt: skip


if __name__ == "__main__":
    main()

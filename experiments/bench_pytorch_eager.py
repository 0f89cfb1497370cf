"""The peer's figure, measured on this machine: Hugging Face PyTorch eager fine-tuning of MiniLM.

    TORCH_PYTHON=/path/to/venv-with-torch/bin/python
    $TORCH_PYTHON experiments/bench_pytorch_eager.py --model MODEL_DIR --conll TRAIN.TXT [--sentences 1024]

Not part of tfner and not run by its tests: it needs torch, transformers and peft in another
environment (STACK.md's reference: torch 2.13.0 CPU, transformers 4.57.6, peft 0.21):

    python -m venv ../torch-venv && ../torch-venv/bin/pip install torch==2.13.0 transformers==4.57.6 peft==0.21.*

`experiments/bench_train.py --pytorch ../torch-venv/bin/python` runs it in the same run as the
TensorFlow configurations, so both sides see the same machine. The recipe is STACK.md's: MiniLM
(`AutoModelForTokenClassification`), CoNLL-2003 train batches of 32 in file order, each padded to its
longest sentence, first sub-token labelled, AdamW (lr 5e-5 full, 5e-4 LoRA) with linear warm-up and
decay, gradient clipping at 1.0, `torch.set_num_threads(2)`; LoRA is PEFT's r=16, alpha=32, dropout
0.05, bias lora_only on query/key/value/output.dense/intermediate.dense. Two untimed warm-up steps,
then --rounds timed epochs. Prints one JSON line per configuration.
"""

import argparse
import json
import time


def read_conll(path, limit):
    sentences, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0] == "-DOCSTART-":
                if words:
                    sentences.append((words, tags))
                    words, tags = [], []
                    if len(sentences) == limit:
                        break
                continue
            words.append(parts[0])
            tags.append(parts[-1])
    if words and len(sentences) < limit:
        sentences.append((words, tags))
    return sentences


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="MiniLM model directory (PyTorch safetensors)")
    parser.add_argument("--conll", required=True, help="CoNLL-2003 train.txt")
    parser.add_argument("--sentences", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", nargs="+", default=["full", "lora"], choices=["full", "lora"])
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, get_linear_schedule_with_warmup

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sentences = read_conll(args.conll, args.sentences)
    labels = sorted({t for _, tags in read_conll(args.conll, 10**9) for t in tags})
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    encoded = []
    for words, tags in sentences:
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=128)
        previous, label_ids = None, []
        for word in enc.word_ids():
            label_ids.append(-100 if word is None or word == previous else labels.index(tags[word]))
            previous = word
        encoded.append((enc["input_ids"], label_ids))
    batches = []
    for at in range(0, len(encoded), args.batch_size):
        rows = encoded[at : at + args.batch_size]
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        y = torch.full((len(rows), width), -100, dtype=torch.long)
        for r, (i, l) in enumerate(rows):
            ids[r, : len(i)], mask[r, : len(i)], y[r, : len(l)] = torch.tensor(i), 1, torch.tensor(l)
        batches.append((ids, mask, y))
    real = sum(len(ids) for ids, _ in encoded)

    for mode in args.modes:
        model = AutoModelForTokenClassification.from_pretrained(args.model, num_labels=len(labels))
        lr = 5e-5
        if mode == "lora":
            from peft import LoraConfig, TaskType, get_peft_model

            model = get_peft_model(
                model,
                LoraConfig(
                    task_type=TaskType.TOKEN_CLS,
                    r=16,
                    lora_alpha=32,
                    lora_dropout=0.05,
                    bias="lora_only",
                    target_modules=["query", "key", "value", "output.dense", "intermediate.dense"],
                ),
            )
            lr = 5e-4
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
        steps = len(batches) * (args.rounds + 1)
        schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)

        def step(batch):
            ids, mask, y = batch
            loss = model(input_ids=ids, attention_mask=mask, labels=y).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()

        for batch in batches[:2]:
            step(batch)
        seconds = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            for batch in batches:
                step(batch)
            seconds.append(time.perf_counter() - start)
        mean = sum(seconds) / len(seconds)
        print(
            json.dumps(
                {
                    "mode": mode,
                    "sentences": len(encoded),
                    "seconds": seconds,
                    "sentences_per_second": len(encoded) / mean,
                    "real_tokens_per_second": real / mean,
                    "torch": torch.__version__,
                    "threads": args.threads,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

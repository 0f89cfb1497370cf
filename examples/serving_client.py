"""Send REST requests to a TF Serving server that serves a tfner export, for both signatures.

    # serve saved_models/notes/ (see the README), then:
    python examples/serving_client.py --model notes --export saved_models/notes/1 "Seen by Dr. Smith."
    python examples/serving_client.py --model notes --export saved_models/notes/1 --dry-run   # print only

Four requests, each in TF Serving's two REST formats:
- `predict_text` (raw strings; WordPiece encoders only): row `{"instances": [{"text": ...}]}` and
  columnar `{"inputs": {"text": [...]}}`;
- `serving_default` (token ids, tokenized here with the tokenizer files of the export's `assets/`,
  padded to one length: rows of one request must have one shape): row `{"instances": [{"input_ids":
  [...], "attention_mask": [...], ...}]}` and columnar `{"inputs": {"input_ids": [[...]], ...}}`.
  A model that reads the table view (`"table_view": true` in `assets/config.json`, the default) is sent
  the tokens of `TableView(text).text`, as it was trained (`predict_text` builds the view in the graph).
Only the standard library is needed, plus transformers for `serving_default` (the tokenizer) and tfner
for the table view.
"""

import argparse
import json
import os
import urllib.request

DEFAULT_TEXTS = ["Patient John Smith was seen on 03/04/2021 at Mercy Hospital.", "No findings."]


def text_requests(texts):
    """(row, columnar) bodies for predict_text."""
    return (
        {"signature_name": "predict_text", "instances": [{"text": t} for t in texts]},
        {"signature_name": "predict_text", "inputs": {"text": list(texts)}},
    )


def token_requests(texts, assets_dir):
    """(row, columnar) bodies for serving_default, tokenized with the export's tokenizer files."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(assets_dir, use_fast=True)
    with open(os.path.join(assets_dir, "config.json")) as f:
        config = json.load(f)
    if config.get("table_view", config.get("model", {}).get("table_view", False)):
        from tfner.data.tables import TableView  # the text the model reads; map offsets back with to_original

        texts = [TableView(t).text for t in texts]
    enc = tokenizer(list(texts), padding=True)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in enc]
    rows = [{n: enc[n][i] for n in names} for i in range(len(texts))]
    return (
        {"signature_name": "serving_default", "instances": rows},
        {"signature_name": "serving_default", "inputs": {n: enc[n] for n in names}},
    )


def build_requests(texts, export_dir=None):
    """{description: body} for every request this script sends."""
    out = {}
    row, columnar = text_requests(texts)
    out["predict_text, row"], out["predict_text, columnar"] = row, columnar
    if export_dir:
        row, columnar = token_requests(texts, os.path.join(export_dir, "assets"))
        out["serving_default, row"], out["serving_default, columnar"] = row, columnar
    return out


def post(url, body, timeout=30):
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("texts", nargs="*", default=DEFAULT_TEXTS)
    parser.add_argument("--url", default="http://localhost:8501", help="TF Serving's REST address")
    parser.add_argument("--model", default="notes", help="the served model name")
    parser.add_argument("--version", type=int, help="a version (default: the latest the server has)")
    parser.add_argument("--export", help="the export's version folder, for its tokenizer (serving_default)")
    parser.add_argument("--dry-run", action="store_true", help="print the requests, send nothing")
    args = parser.parse_args(argv)
    texts = args.texts or DEFAULT_TEXTS
    url = f"{args.url}/v1/models/{args.model}" + (f"/versions/{args.version}" if args.version else "")
    url += ":predict"
    requests = build_requests(texts, args.export)
    if not args.export:
        print("(no --export: serving_default needs the export's tokenizer, only predict_text is sent)")
    for what, body in requests.items():
        print(f"POST {url}  # {what}\n{json.dumps(body)}")
        if not args.dry_run:
            print(json.dumps(post(url, body), indent=1))
    return requests


if __name__ == "__main__":
    main()

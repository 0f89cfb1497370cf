"""Stage 2, model: encoders, heads, LoRA and the `Tagger` that ties them to a tokenizer and labels."""

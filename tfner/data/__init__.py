"""Stage 1, data: readers for every input form, tag schemes, alignment to sub-tokens, batching and the
synthetic clinical notes. Nothing here imports TensorFlow models; later stages import from here."""

from tfner.data.readers import (  # noqa: F401
    Corpus,
    DataError,
    Document,
    build_labels,
    check_labels,
    entity_types,
    read_conll,
    read_data,
    read_span_jsonl,
    summarize,
)

"""Stage 0, core: what every stage shares and nothing else: nested config dataclasses with their flat
command line (`config`), and how commands end (`cli`)."""

//! Loom models of splitmap live in `tests/`; build with `--cfg loom`.

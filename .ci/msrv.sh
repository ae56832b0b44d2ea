#!/usr/bin/env bash
# Two builds the main toolchain cannot vouch for:
# - the library with the declared `rust-version` (Cargo.toml), so the
#   MSRV is a checked fact, not a guess (clippy's `incompatible_msrv` lint
#   only knows std APIs, not language features or dependencies);
# - the library for a 32-bit target (i686), where `usize` has 32 bits and
#   the directory's shrink words must still be 64 (src/raw/directory/).
# Both need rustup to fetch a toolchain or a target. Where it cannot (no
# network), the script says so and skips the check rather than failing CI.
set -euo pipefail
cd "$(dirname "$0")/.."

msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
start=$(date +%s)

if rustup toolchain install "$msrv" --profile minimal >/dev/null 2>&1; then
    # The library alone: dev-dependencies (benchmark peers, test tools) are
    # free to need a newer toolchain. A copy without them and without the
    # lock file, so cargo resolves versions this toolchain accepts.
    work=$(mktemp -d)
    cp -r src Cargo.toml README.md "$work/"
    sed -i '/^\[workspace\]/,/^exclude/d; /^\[dev-dependencies\]/,/^$/d; /^\[\[bench\]\]/,$d' "$work/Cargo.toml"
    (cd "$work" && cargo +"$msrv" check --lib --features serde)
    rm -rf "$work"
    echo "msrv: the library builds with $msrv"
else
    echo "msrv: could not install toolchain $msrv (no network?): skipped"
fi

if rustup target add i686-unknown-linux-gnu >/dev/null 2>&1; then
    cargo check --lib --all-features --target i686-unknown-linux-gnu --target-dir target/i686
    echo "msrv: the library builds for i686-unknown-linux-gnu"
else
    echo "msrv: could not add target i686-unknown-linux-gnu: skipped"
fi
echo "msrv checks took $(( $(date +%s) - start ))s"

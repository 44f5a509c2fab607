#!/usr/bin/env bash
# Renders the README picture of the demo topology from assets/demo.json:
# assets/demo-graph.svg and assets/demo-graph.png. Needs graphviz (`dot`).
# Run from the repository root after `cargo build`; rerun whenever the DOT
# output changes (tests/snapshots/graph__demo_dot.snap shows when).
set -euo pipefail
nsmap=${NSMAP:-target/debug/nsmap}
"$nsmap" --quiet graph --input assets/demo.json > assets/demo-graph.dot.tmp
trap 'rm -f assets/demo-graph.dot.tmp' EXIT
dot -Tsvg assets/demo-graph.dot.tmp -o assets/demo-graph.svg
dot -Tpng -Gdpi=120 assets/demo-graph.dot.tmp -o assets/demo-graph.png

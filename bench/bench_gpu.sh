#!/usr/bin/env bash
# The classic GPU benchmark: progressive 64 -> 128 -> 256 -> 512 (go_big) against a direct 512 run, on one GPU, < 8 min.
#   bench/bench_gpu.sh            # one large GPU: renders (or reuses) 600 demo images at 640x480
#   bench/bench_gpu.sh --smoke    # CPU smoke run, < 2 min (CI runs it as bench/bench_gpu.py --smoke)
# Any other option goes to bench/bench_gpu.py (see --help). The logic lives there: this is a thin wrapper.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${PYTHON:-$here/../.venv/bin/python}"
[ -x "$py" ] || py=python
exec "$py" "$here/bench_gpu.py" "$@"

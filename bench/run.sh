#!/usr/bin/env bash
# Prepare everything and run the on-save benchmark, tapps-lsp side by side with pylsp,
# per-file mypy and dmypy, then the tapps-lsp soak (500 saves), then the whole-folder review
# (tapps.reviewWorkspace and `tapps-lsp check` next to ruff + mypy, bench/batch.py).
#
#   bench/run.sh                       # all columns, 30 files, then the soak
#   bench/run.sh --servers pylsp --files 5
#   SOAK=0 bench/run.sh --servers tapps  # no soak
#   BATCH=0 bench/run.sh                 # no whole-folder review benchmark
#
# PYTHON is the project's interpreter (default /tmp/venv/bin/python): rich's runtime
# dependencies are installed into it, mypy checks with it, and tapps-lsp is looked up
# next to it. Every argument is passed to bench/onsave.py (see --help there).
# SOAK=0 skips bench/soak.py; SOAK_SAVES sets its number of saves (default 500).
# BATCH=0 skips bench/batch.py (whole-folder review next to `ruff check . && mypy rich`).
# MEMORY=0 skips bench/batch_memory.py; WORKFLOWS=0 skips bench/workflows.py (issue 14).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-/tmp/venv/bin/python}"
if [[ ! -x "$PYTHON" ]]; then
    echo "run.sh: $PYTHON not found; set PYTHON to the project's interpreter" >&2
    exit 2
fi
"$PYTHON" -c 'import mypy' 2>/dev/null || {
    echo "run.sh: mypy is not installed in $PYTHON (pip install -e . there first)" >&2
    exit 2
}

# An untrusted workspace's cache lives in the user's cache folder ($XDG_CACHE_HOME/tapps-lsp,
# keyed by the workspace root), and the bench's working copies keep their paths: without a
# fresh cache folder per run, a second run would measure the first run's cache hits.
XDG_CACHE_HOME="$(mktemp -d -t tapps-bench-cache.XXXXXX)"
export XDG_CACHE_HOME
trap 'rm -rf "$XDG_CACHE_HOME"' EXIT

# 1. The corpus (rich 15.0.0 from its sdist) and its dependencies; idempotent.
"$PYTHON" "$here/corpus.py" "$here/.corpus" --python "$PYTHON" >/dev/null
# 2. The pylsp venv is created by onsave.py when a pylsp server is asked for.
# 3. The benchmark itself: table on stdout, raw numbers in bench/results/onsave.json.
status=0
"$PYTHON" "$here/onsave.py" --python "$PYTHON" --corpus "$here/.corpus" "$@" || status=$?
# 4. The soak: tapps-lsp's RSS and save latency over many saves (bench/results/soak.json).
if [[ "${SOAK:-1}" != 0 ]]; then
    echo
    "$PYTHON" "$here/soak.py" --python "$PYTHON" --corpus "$here/.corpus" \
        --saves "${SOAK_SAVES:-500}" || status=$?
fi
# 5. The whole-folder review: tapps.reviewWorkspace and `tapps-lsp check` next to ruff + mypy
#    (bench/results/batch.json). Fresh copies in the temp dir, removed at the end.
if [[ "${BATCH:-1}" != 0 ]]; then
    echo
    "$PYTHON" "$here/batch.py" --python "$PYTHON" --corpus "$here/.corpus" || status=$?
fi
# 6. Memory of a whole-folder review over a synthetic 1,000-module project, next to
#    ruff + mypy run directly (bench/results/batch_memory.json). MEMORY=0 skips it.
if [[ "${MEMORY:-1}" != 0 ]]; then
    echo
    "$PYTHON" "$here/batch_memory.py" --python "$PYTHON" || status=$?
fi
# 7. Review workflows (issue 14): a standard rerun next to a warm reviewWorkspace, the
#    presets cold, a workflow of independent steps, resume after SIGKILL
#    (bench/results/workflows.json). WORKFLOWS=0 skips it.
if [[ "${WORKFLOWS:-1}" != 0 ]]; then
    echo
    "$PYTHON" "$here/workflows.py" --python "$PYTHON" --corpus "$here/.corpus" || status=$?
fi
exit "$status"

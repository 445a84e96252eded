#!/usr/bin/env bash
# Prepare everything and run the on-save benchmark, tapps-lsp side by side with pylsp.
#
#   bench/run.sh                       # all servers, 30 files
#   bench/run.sh --servers pylsp --files 5
#
# PYTHON is the project's interpreter (default /tmp/venv/bin/python): rich's runtime
# dependencies are installed into it, mypy checks against it, and tapps-lsp is looked up
# next to it. Every argument is passed to bench/onsave.py (see --help there).
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

# 1. The corpus (rich 15.0.0 from its sdist) and its dependencies; idempotent.
"$PYTHON" "$here/corpus.py" "$here/.corpus" --python "$PYTHON" >/dev/null
# 2. The pylsp venv is created by onsave.py when a pylsp server is asked for.
# 3. The benchmark itself: table on stdout, raw numbers in bench/results/onsave.json.
exec "$PYTHON" "$here/onsave.py" --python "$PYTHON" --corpus "$here/.corpus" "$@"

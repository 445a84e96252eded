#!/usr/bin/env bash
# Install what tests/editors/test_vscode.py needs, offline from the package registries:
#   - Debian: chromium, ripgrep and code-server's native build dependencies
#   - npm: the extension's own dependencies (npm ci in editors/vscode, from its lock file)
#   - npm: code-server 4.100.3 (VS Code 1.100.3, the newest that runs on Node 20) and
#     playwright-core, into .ci/.cache/vscode-test (ignored by git)
# Idempotent: each step runs only when its result is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
start=$(date +%s)

CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_VERSION=1.65.1
RIPGREP_TARBALL=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz  # what @vscode/ripgrep 1.15.11 fetches
APT_PACKAGES=(build-essential pkg-config python3 libkrb5-dev libxkbfile-dev libsecret-1-dev
    ripgrep chromium)
cache="$repo/.ci/.cache/vscode-test"

say() { echo "install-vscode-test: $*"; }

for tool in node npm; do
    command -v "$tool" >/dev/null || { say "$tool is missing (Node 20 and npm are needed)" >&2; exit 1; }
done

# --- Debian packages ---------------------------------------------------------------
missing=()
for package in "${APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
        say "not root and no sudo; install ${missing[*]} by hand" >&2; exit 1
    fi
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "Debian packages present"
fi

# --- the extension's dependencies (from the committed lock file) ------------------
ext="$repo/editors/vscode"
stamp="$ext/node_modules/.tapps-lock.sha256"
want=$(sha256sum "$ext/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    say "npm ci in editors/vscode"
    (cd "$ext" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
else
    say "editors/vscode/node_modules up to date"
fi

# --- code-server and playwright-core ----------------------------------------------
installed=$(node -p "try { require('$cache/node_modules/code-server/package.json').version } catch { '' }")
pw=$(node -p "try { require('$cache/node_modules/playwright-core/package.json').version } catch { '' }")
if [ "$installed" != "$CODE_SERVER_VERSION" ] || [ "$pw" != "$PLAYWRIGHT_VERSION" ] \
    || [ ! -x "$cache/node_modules/.bin/code-server" ]; then
    say "npm install code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_VERSION"
    mkdir -p "$cache"
    echo '*' >"$repo/.ci/.cache/.gitignore"
    [ -f "$cache/package.json" ] || echo '{"name": "tapps-vscode-test", "private": true}' >"$cache/package.json"
    # @vscode/ripgrep's postinstall downloads rg from GitHub: seed its download cache
    # with Debian's rg instead.
    export TMPDIR=${TMPDIR:-/tmp}
    rgcache="$TMPDIR/vscode-ripgrep-cache-1.15.11"
    if [ ! -f "$rgcache/$RIPGREP_TARBALL" ]; then
        work=$(mktemp -d)
        cp "$(command -v rg)" "$work/rg"
        mkdir -p "$rgcache"
        tar czf "$rgcache/$RIPGREP_TARBALL" -C "$work" rg
        rm -rf "$work"
    fi
    # code-server's postinstall refuses root without unsafe-perm, and runs nested npm
    # installs whose native modules (node-pty, spdlog, ...) need their install scripts;
    # node-pty's postinstall runs npx, which needs `yes`.
    (cd "$cache" && npm_config_unsafe_perm=true npm_config_yes=true \
        npm_config_dangerously_allow_all_scripts=true \
        npm install --no-audit --no-fund --loglevel=error \
        "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION")
else
    say "code-server $installed and playwright-core $pw present"
fi

[ -x "$cache/node_modules/.bin/code-server" ] || { say "code-server did not install" >&2; exit 1; }
say "done in $(($(date +%s) - start)) s"

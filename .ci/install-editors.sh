#!/usr/bin/env bash
# Install the editors that tests/editors/test_emacs_vim.py drives headless:
# Emacs + Eglot and Vim + ALE, from Debian. Idempotent: installs only what is
# missing, and runs `apt-get update` only when something is.
set -euo pipefail

PACKAGES=(emacs-nox elpa-eglot vim vim-ale)

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install-editors: not root and no sudo; install ${PACKAGES[*]} by hand" >&2
    exit 1
fi

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-editors: already installed: ${PACKAGES[*]}"
    exit 0
fi

start=$(date +%s)
echo "install-editors: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-editors: installed ${missing[*]} in $(($(date +%s) - start)) s"

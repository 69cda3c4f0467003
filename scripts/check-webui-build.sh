#!/usr/bin/env bash
# CI check: the committed web UI build (webui/dist) is what its sources build to.
# Rebuilds with the locked dependencies (npm ci) and fails if webui/dist differs from the commit.
set -euo pipefail
cd "$(dirname "$0")/../webui"
npm ci --no-audit --no-fund --loglevel=error
npm run build
cd ..
if ! git diff --quiet -- webui/dist || [ -n "$(git status --porcelain -- webui/dist)" ]; then
    echo "webui/dist does not match a fresh build of webui/ (run 'make webui' and commit webui/dist):" >&2
    git status --short -- webui/dist >&2
    exit 1
fi
echo "webui/dist matches a fresh build"

#!/usr/bin/env bash
# The official MCP conformance suite against `local-mcp serve --transport http`, at both wires
# the server speaks (2025-11-25 with initialize, 2026-07-28 stateless). Used by .ci/run; by hand:
#   bash tests/conformance/run.sh          (from the repo root, with the project's Python active)
# Installs, once, into .ci-venv/conformance: Node.js 22 from npm (the suite needs Node >= 22; the
# system's Node is left alone) and the suite itself, both pinned. Results and the table: tests/CONFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
NODE_VERSION=22.23.3
SUITE_VERSION=0.2.0-alpha.12
dir="${CONFORMANCE_DIR:-$PWD/.ci-venv/conformance}"
python="${PYTHON:-python}"
mkdir -p "$dir"
stamp="$dir/installed-$NODE_VERSION-$SUITE_VERSION"
if [ ! -e "$stamp" ]; then
  # A package.json of its own, so npm installs here and not into a parent folder's project.
  [ -e "$dir/package.json" ] || echo '{"private": true}' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --silent --save-exact \
    "node@$NODE_VERSION" "@modelcontextprotocol/conformance@$SUITE_VERSION" >/dev/null) \
    || { echo "npm install of node@$NODE_VERSION and the conformance suite failed" >&2; exit 1; }
  touch "$stamp"
fi
node="$dir/node_modules/node/bin/node"
suite="$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js"
"$node" --version | grep -q '^v22\.' || { echo "expected Node 22 at $node" >&2; exit 1; }
status=0
for revision in 2025-11-25 2026-07-28; do
  echo "-- conformance, requirements of $revision"
  PATH="$(dirname "$node"):$PATH" "$python" -m tests.conformance.run --node "$node" --suite "$suite" \
    --requirements "$revision" ${CONFORMANCE_OUTPUT:+--output "$CONFORMANCE_OUTPUT/$revision"} || status=1
done
exit $status

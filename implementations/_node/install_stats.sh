#!/bin/sh
# npm ci from scratch in each Node implementation folder: wall time and node_modules size.
# Usage: sh implementations/_node/install_stats.sh > implementations/_node/install-stats.md
cd "$(dirname "$0")/.." || exit 1
echo "| folder | npm ci (s, wall) | node_modules (MB) | packages |"
echo "| --- | --- | --- | --- |"
for d in authjs better-auth iron-session express-jwt fastify-session passport-jwt; do
  [ -f "$d/package-lock.json" ] || continue
  rm -rf "$d/node_modules"
  start=$(date +%s.%N)
  (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) || echo "npm ci failed in $d" >&2
  end=$(date +%s.%N)
  size=$(du -sm "$d/node_modules" | cut -f1)
  count=$(find "$d/node_modules" -name package.json -path '*node_modules/*/package.json' -not -path '*/node_modules/*/node_modules/*/*' | wc -l)
  printf '| %s | %.1f | %s | %s |\n' "$d" "$(echo "$end - $start" | bc)" "$size" "$count"
done

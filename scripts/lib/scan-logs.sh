#!/usr/bin/env bash
# Scans the logs the test suite's services wrote (TETHER_TEST_LOG_DIR, one JSON file per
# test process) for what logs must never hold: tokens, phone numbers, exact coordinates
# and chat or order text the tests send. Prints where and which kind (never the text) and
# exits 1 when anything is found; 0 when the logs are clean (or there are none).
set -euo pipefail
dir=${1:?usage: scan-logs.sh DIR}
shopt -s nullglob
files=("$dir"/*.log)
if ((${#files[@]} == 0)); then
  echo "==> log scan: no logs in $dir"
  exit 0
fi
declare -A patterns=(
  [token]='eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}'
  [phone]='\+[0-9]{7,15}'
  [coordinate]='"?(latitude|longitude|lat|lon)"?[[:space:]]*[=:][[:space:]]*"?-?[0-9]+\.[0-9]'
  # Texts the tests send as chat messages and order descriptions.
  [chat_or_order_text]='Kitchen sink leaks|During the outage|Before the outage|hi there|Leaking tap|On my way|the door is open|Are you there'
)
found=0
lines=$(cat "${files[@]}" | wc -l)
for kind in "${!patterns[@]}"; do
  while IFS=: read -r file line _; do
    [[ -n "$file" ]] || continue
    echo "==> log scan: $kind in $file line $line" >&2
    found=1
  done < <(grep -E -n -H "${patterns[$kind]}" "${files[@]}" | cut -d: -f1,2 || true)
done
if ((found)); then
  echo "==> log scan: FAILED (private data in service logs)" >&2
  exit 1
fi
echo "==> log scan: ${#files[@]} files, $lines lines, no token, phone number, coordinate or chat text"

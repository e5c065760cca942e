#!/usr/bin/env bash
# Runs the whole test suite: installs Azurite from npm if needed (the integration tests start their own in-memory
# Azurite on free ports) and Debian's chromium with a Chinese font for the console's browser tests, runs every test
# project, and ends with one line: "tests: N passed, N failed[, N skipped]".
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [ ! -d infra/azurite/node_modules/azurite ]; then
  npm ci --prefix infra/azurite --no-audit --no-fund || { echo "tests: 0 passed, 1 failed"; exit 1; }
fi

# The console tests drive Debian's chromium through Playwright (Playwright's own browser download is not used).
if [ -z "${SIYU_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  mkdir -p "$root/.local"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-wqy-microhei; } > "$root/.local/apt.log" 2>&1 \
    || { echo "could not install chromium with apt (see .local/apt.log)"; echo "tests: 0 passed, 1 failed"; exit 1; }
fi

results="$root/.local/test-results"
rm -rf "$results"
dotnet test Serverless.sln -c Release --logger "trx" --results-directory "$results" "$@"
status=$?

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  # xUnit's skipped tests are counted as not executed (total - executed), not under notExecuted.
  skipped=$((skipped + $(get notExecuted) + $(get total) - $(get executed)))
done
# The deployment definitions are checked too: bicep build and lint (the CLI comes from NuGet), counted as one check.
if bash infra/check-bicep.sh > "$results/bicep.log" 2>&1; then
  passed=$((passed + 1)); echo "Passed: bicep build and lint"
else
  failed=$((failed + 1)); echo "Failed: bicep build and lint"; cat "$results/bicep.log"
fi

# A build failure or a crashed test host leaves no (or too few) results: count that as a failure, never as a pass.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$files" -eq 0 ]; then failed=$((failed > 0 ? failed : 1)); fi

line="tests: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ "$failed" -eq 0 ]

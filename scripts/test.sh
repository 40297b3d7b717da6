#!/usr/bin/env bash
# The test command of the README: builds everything and runs every test project (CPU only; GPU tests skip).
set -euo pipefail
cd "$(dirname "$0")/.."
results="$(mktemp -d)"
status=0
dotnet build Brim.slnx -c Release -nologo -v q || exit 1
dotnet test Brim.slnx -c Release --no-build -nologo --logger "trx" --results-directory "$results" -- RunConfiguration.TestSessionTimeout=1200000 || status=$?
# One plain closing line for the whole run, summed over every project's trx file.
python3 - "$results" <<'PY' || true
import sys, glob, re
p = f = s = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    text = open(path, encoding="utf-8").read()
    m = re.search(r'<Counters [^>]*', text)
    if not m: continue
    c = dict(re.findall(r'(\w+)="(\d+)"', m.group(0)))
    p += int(c.get("passed", 0)); f += int(c.get("failed", 0)) + int(c.get("error", 0))
    s += int(c.get("total", 0)) - int(c.get("executed", 0))
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $status

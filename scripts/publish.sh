#!/usr/bin/env bash
# A single-file, self-contained `brim` for machines without .NET: artifacts/brim-<rid>/brim plus the bundled model.
# Usage: bash scripts/publish.sh [rid]   (default linux-x64; e.g. linux-arm64, osx-arm64, win-x64)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
rid="${1:-linux-x64}"
out="$repo/artifacts/brim-$rid"
rm -rf "$out"
dotnet publish "$repo/src/Brim.Cli" -c Release -r "$rid" --self-contained \
  -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none -o "$out" -nologo -v q
echo "$out/brim: copy the folder (brim + models/) anywhere and run ./brim serve"

#!/usr/bin/env bash
# Run HERE (no GPU needed): publishes the self-contained `brim` CLI and the HF peer script into .gpu/brim/, which the
# device tool carries (`carry: [".gpu/brim"]`). The tree that travels must stay under 64 MiB, hence xz.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$repo/.gpu/brim"
rm -rf "$dest" "$repo/artifacts/brim" && mkdir -p "$dest"
dotnet publish "$repo/src/Brim.Cli" -c Release -r linux-x64 --self-contained -p:DebugType=none -o "$repo/artifacts/brim" -nologo -v q
XZ_OPT="-T2 -6" tar -C "$repo/artifacts" -cJf "$dest/brim.tar.xz" brim
cp "$repo/scripts/gpu/host_bench.sh" "$dest/"
peer="$repo/../shared/bench/peer_hf.py"
[ -f "$peer" ] && cp "$peer" "$dest/"
du -sh "$dest"/*
echo "on the device, from the repo root, carry [\".gpu/brim\"]:  bash .gpu/brim/host_bench.sh [story] [decode] [offline] [peer]"

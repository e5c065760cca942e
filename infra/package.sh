#!/usr/bin/env bash
# Builds the Azure Functions deployment package: the isolated-worker app published for linux-x64 (framework-dependent:
# the dotnet-isolated 10.0 runtime brings .NET), with host.json, functions.metadata (the functions the host indexes)
# and worker.config.json at the package root, where the Functions host looks for them. Output: .local/package/ (and
# .local/siyu-functions.zip when zip is installed). Deploy with:
#   az functionapp deployment source config-zip -g <group> -n <app> --src .local/siyu-functions.zip
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out=.local/package
rm -rf "$out" .local/siyu-functions.zip
dotnet publish functions/Siyu.Functions.csproj -c Release -r linux-x64 --self-contained false -o "$out"
for f in host.json functions.metadata worker.config.json; do
  [ -f "$out/$f" ] || { echo "package: $f missing from the publish output" >&2; exit 1; }
done
if command -v zip >/dev/null; then
  (cd "$out" && zip -qr ../siyu-functions.zip .)
  echo "package: .local/siyu-functions.zip"
else
  echo "package folder: $out (no zip on this machine: zip its contents for deployment)"
fi

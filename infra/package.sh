#!/usr/bin/env bash
# Builds the Azure Functions deployment package: the app published self-contained for linux-x64 (the Functions
# custom-handler runtime brings no .NET), host.json, and one folder per function with its function.json at the
# package root, where the Functions host looks for them. Output: .local/package/ (and .local/siyu-functions.zip when
# zip is installed). Deploy with: az functionapp deployment source config-zip -g <group> -n <app> --src <zip>
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out=.local/package
rm -rf "$out" .local/siyu-functions.zip
dotnet publish functions/Siyu.Functions.csproj -c Release -r linux-x64 --self-contained true -o "$out"
cp host.json "$out/"
rm -rf "$out/bindings"
for fn in functions/bindings/*/; do
  name=$(basename "$fn")
  mkdir -p "$out/$name"
  cp "$fn/function.json" "$out/$name/"
done
if command -v zip >/dev/null; then
  (cd "$out" && zip -qr ../siyu-functions.zip .)
  echo "package: .local/siyu-functions.zip"
else
  echo "package folder: $out (no zip on this machine: zip its contents for deployment)"
fi

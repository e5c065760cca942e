#!/usr/bin/env bash
# Compiles and lints bicep/main.bicep with a pinned Bicep CLI; fails on any error or warning.
#
# The CLI comes from the NuGet package Azure.Bicep.CommandLine.linux-x64 (it ships the bicep
# binary under tools/), restored with `dotnet restore` into .local/bicep (git-ignored), so only
# the .NET SDK is needed. A second run reuses the binary and skips the restore.
set -euo pipefail

BICEP_VERSION=0.49.2
PACKAGE=Azure.Bicep.CommandLine.linux-x64

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

tool_dir="$repo/.local/bicep"
packages="$tool_dir/packages"
package_lower="$(echo "$PACKAGE" | tr '[:upper:]' '[:lower:]')"
bicep="$packages/$package_lower/$BICEP_VERSION/tools/bicep"

if [[ ! -x "$bicep" ]] || ! "$bicep" --version 2>/dev/null | grep -q "version $BICEP_VERSION "; then
  echo "Restoring $PACKAGE $BICEP_VERSION into .local/bicep ..."
  restore="$tool_dir/restore"
  mkdir -p "$restore"
  # Empty Directory.* files stop MSBuild from importing the repo's own (central package
  # versions, warnings as errors) into this throwaway project.
  for f in Directory.Build.props Directory.Build.targets Directory.Packages.props; do
    echo '<Project />' > "$restore/$f"
  done
  # Target the running SDK's own framework, so no targeting pack has to be downloaded.
  sdk_major="$(dotnet --version | cut -d. -f1)"
  cat > "$restore/BicepRestore.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net$sdk_major.0</TargetFramework>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="$PACKAGE" Version="$BICEP_VERSION" />
  </ItemGroup>
</Project>
EOF
  dotnet restore "$restore/BicepRestore.csproj" --packages "$packages" --nologo -v quiet
  chmod +x "$bicep"
fi

"$bicep" --version

# Runs a bicep command with its stdout discarded; fails if it exits non-zero or reports any
# Warning/Error diagnostic on stderr (bicep exits 0 on warnings, and e.g. an unknown resource
# property is only a warning).
run() {
  local diagnostics status=0
  diagnostics="$("$bicep" "$@" 2>&1 >/dev/null)" || status=$?
  if [[ -n "$diagnostics" ]]; then echo "$diagnostics"; fi
  if (( status != 0 )) || grep -Eq ' : (Warning|Error) ' <<<"$diagnostics"; then
    echo "FAILED: bicep $*" >&2
    return 1
  fi
  echo "ok: bicep $*"
}

run build bicep/main.bicep --stdout
run lint bicep/main.bicep

# Every parameter in the example file must exist in main.bicep (catches renames and typos);
# the secure bootstrap key must never appear in it.
params_file=bicep/main.parameters.example.json
status=0
for p in $(sed -nE 's/^    "([A-Za-z0-9_]+)": \{.*/\1/p' "$params_file"); do
  if ! grep -Eq "^param $p " bicep/main.bicep; then
    echo "FAILED: $params_file sets '$p', which bicep/main.bicep does not declare" >&2
    status=1
  fi
done
if grep -qE '"(operatorBootstrapKey|secretsEncryptionKey)"' "$params_file"; then
  echo "FAILED: $params_file must not contain operatorBootstrapKey or secretsEncryptionKey (secrets)" >&2
  status=1
fi
(( status == 0 )) && echo "ok: $params_file"
exit $status

#!/usr/bin/env bash
# Runs the product locally: installs Azurite from npm (first time), starts it with data kept under .local/azurite,
# and starts the function app against it with a seeded demo tenant whose API keys are printed.
# Ctrl-C stops both.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

[ -d infra/azurite/node_modules/azurite ] || npm ci --prefix infra/azurite --no-audit --no-fund

mkdir -p .local/azurite
# Secrets for the local run only, made once and kept out of git.
if [ ! -f .local/secrets.env ]; then
  {
    echo "OPERATOR_KEY=op-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "SECRETS_KEY=$(head -c 32 /dev/urandom | base64)"
  } > .local/secrets.env
  chmod 600 .local/secrets.env
fi
# shellcheck disable=SC1091
source .local/secrets.env

table_port="${AZURITE_TABLE_PORT:-10002}"
queue_port="${AZURITE_QUEUE_PORT:-10001}"
azurite_src=infra/azurite/node_modules/azurite/dist/src
node "$azurite_src/table/main.js" --location .local/azurite --tableHost 127.0.0.1 --tablePort "$table_port" --silent --disableTelemetry &
table_pid=$!
node "$azurite_src/queue/main.js" --location .local/azurite --queueHost 127.0.0.1 --queuePort "$queue_port" --silent --disableTelemetry &
queue_pid=$!
# A local fake of WeChat's API and the SMS/email/WeCom/push provider contract, so sends go somewhere observable:
# it knows WeChat app "wxdemo" (secret demo-secret) and provider key "pk_demo"; GET :7072/fake/stats counts what it took.
fake_port="${FAKE_PROVIDER_PORT:-7072}"
dotnet run --project infra/Siyu.FakeProviders -c Release -- --urls "http://127.0.0.1:$fake_port" \
  --Fake:Apps:wxdemo=demo-secret --Fake:ApiKeys:0=pk_demo > .local/fake-providers.log 2>&1 &
fake_pid=$!
trap 'kill $table_pid $queue_pid $fake_pid 2>/dev/null || true' EXIT INT TERM

account=devstoreaccount1
# Azurite's published, well-known development key: not a secret.
key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
export Storage__ConnectionString="DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$key;TableEndpoint=http://127.0.0.1:$table_port/$account;QueueEndpoint=http://127.0.0.1:$queue_port/$account;"
export Operator__BootstrapKey="$OPERATOR_KEY"
export Secrets__EncryptionKey="$SECRETS_KEY"
export Demo__Seed=true
export Channels__WeChatApiBaseUrl="http://127.0.0.1:$fake_port"
for channel in sms email wecom push; do export "Channels__ProviderBaseUrls__$channel=http://127.0.0.1:$fake_port"; done
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
url="${SIYU_URL:-http://127.0.0.1:7071}"

echo "Operator bootstrap key (for /api/operator/*): $OPERATOR_KEY"
echo "API: $url   OpenAPI: $url/api/openapi.json   Health: $url/api/health"
dotnet run --project functions/Siyu.Functions.csproj -c Release --urls "$url"

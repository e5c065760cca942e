#!/usr/bin/env bash
# Runs the product locally. Azurite (tables, queues and blobs, data kept under .local/azurite) and the fake providers
# (a local WeChat API and SMS/email/WeCom/push provider) run in the background: each is started only if its port is not
# answering already, so running this again reuses them. The function app runs in the foreground under the local
# Functions host (infra/Siyu.LocalHost: Core Tools' `func start` cannot be installed here), with a seeded demo tenant
# whose API keys are printed and kept in .local/demo-keys.json (the same keys after a restart).
# Ctrl-C stops the app alone: Azurite and the fake keep running, with their data and counts.
#   ./infra/run.sh          start what is not running, then run the app
#   ./infra/run.sh stop     stop the Azurite and fake provider processes this script started
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

table_port="${AZURITE_TABLE_PORT:-10002}"
blob_port="${AZURITE_BLOB_PORT:-10000}"
queue_port="${AZURITE_QUEUE_PORT:-10001}"
fake_port="${FAKE_PROVIDER_PORT:-7072}"
smtp_port="${FAKE_SMTP_PORT:-2525}"
pids=.local/pids
mkdir -p .local/azurite "$pids"

answering() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Stops only what this script started: a pid from .local/pids whose process still runs the command it was started with.
stop_services() {
  local name pid
  for name in azurite-table azurite-queue azurite-blob fake-providers; do
    [ -f "$pids/$name" ] || continue
    pid="$(cat "$pids/$name")"
    if ps -p "$pid" -o args= 2>/dev/null | grep -q -e azurite -e Siyu.FakeProviders; then
      # Its own process group (see start_detached): dotnet run's child goes with it.
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      echo "stopped $name (pid $pid)"
    fi
    rm -f "$pids/$name"
  done
}

case "${1:-}" in
  stop) stop_services; exit 0 ;;
  "") ;;
  *) echo "usage: ./infra/run.sh [stop]" >&2; exit 2 ;;
esac

# Starts a service in a session of its own, so that Ctrl-C on the app does not reach it; its pid goes to .local/pids.
start_detached() {
  local name="$1"; shift
  if command -v setsid > /dev/null 2>&1; then
    setsid "$@" > ".local/$name.log" 2>&1 < /dev/null &
  else # macOS has no setsid(1)
    perl -MPOSIX -e 'POSIX::setsid(); exec @ARGV or die "exec: $!"' "$@" > ".local/$name.log" 2>&1 < /dev/null &
  fi
  echo $! > "$pids/$name"
}

wait_for() {
  local port="$1" name="$2"
  for _ in $(seq 1 600); do answering "$port" && return 0; sleep 0.2; done
  echo "$name did not start on port $port; see .local/$name.log" >&2
  exit 1
}

[ -d infra/azurite/node_modules/azurite ] || npm ci --prefix infra/azurite --no-audit --no-fund

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

azurite_src=infra/azurite/node_modules/azurite/dist/src
if answering "$table_port"; then echo "Azurite tables: already answering on $table_port, reused"
else
  start_detached azurite-table node "$azurite_src/table/main.js" --location .local/azurite --tableHost 127.0.0.1 --tablePort "$table_port" --silent --disableTelemetry
  echo "Azurite tables: started on $table_port (pid $(cat "$pids/azurite-table"))"
fi
if answering "$queue_port"; then echo "Azurite queues: already answering on $queue_port, reused"
else
  start_detached azurite-queue node "$azurite_src/queue/main.js" --location .local/azurite --queueHost 127.0.0.1 --queuePort "$queue_port" --silent --disableTelemetry
  echo "Azurite queues: started on $queue_port (pid $(cat "$pids/azurite-queue"))"
fi
if answering "$blob_port"; then echo "Azurite blobs: already answering on $blob_port, reused"
else
  start_detached azurite-blob node "$azurite_src/blob/main.js" --location .local/azurite --blobHost 127.0.0.1 --blobPort "$blob_port" --silent --disableTelemetry
  echo "Azurite blobs: started on $blob_port (pid $(cat "$pids/azurite-blob"))"
fi
# A local fake of WeChat's API and the SMS/email/WeCom/push provider contract, so sends go somewhere observable:
# it knows WeChat app "wxdemo" (secret demo-secret), provider key "pk_demo", Aliyun SMS AccessKey "LTAIdemo" (the demo
# tenant's SMS account), Tencent Cloud SecretId "AKIDdemo" (for trying a Tencent account) and, on port $smtp_port, an SMTP
# server (STARTTLS, login demo@brand.example / demo-smtp-password) and WeCom corp "wwdemo" (secret demo-wecom-secret);
# GET /fake/stats counts what it took.
if answering "$fake_port"; then echo "Fake providers: already answering on $fake_port, reused (their counts go on)"
else
  dotnet build infra/Siyu.FakeProviders -c Release --nologo -v quiet > .local/fake-providers-build.log 2>&1 \
    || { cat .local/fake-providers-build.log; exit 1; }
  start_detached fake-providers dotnet run --no-build --project infra/Siyu.FakeProviders -c Release -- --urls "http://127.0.0.1:$fake_port" \
    --Fake:Apps:wxdemo=demo-secret --Fake:ApiKeys:0=pk_demo --Fake:AliyunKeys:LTAIdemo=demo-aliyun-secret \
    --Fake:TencentKeys:AKIDdemo=demo-tencent-secret \
    --Fake:SmtpPort="$smtp_port" --Fake:SmtpUsers:demo@brand.example=demo-smtp-password \
    --Fake:WeComCorps:wwdemo=demo-wecom-secret
  echo "Fake providers: started on $fake_port (pid $(cat "$pids/fake-providers"))"
fi
wait_for "$table_port" azurite-table
wait_for "$queue_port" azurite-queue
wait_for "$blob_port" azurite-blob
wait_for "$fake_port" fake-providers
echo "They keep running when the app stops; ./infra/run.sh stop stops them."

account=devstoreaccount1
# Azurite's published, well-known development key: not a secret.
key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
export Storage__ConnectionString="DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$key;TableEndpoint=http://127.0.0.1:$table_port/$account;QueueEndpoint=http://127.0.0.1:$queue_port/$account;BlobEndpoint=http://127.0.0.1:$blob_port/$account;"
# What the function app's triggers resolve, as the Functions host's app settings would give them: the queue triggers'
# connection and their queues' prefix (%Storage:Prefix%-ingest-0 …), and the Durable task hub (host.json).
export SiyuStorage="$Storage__ConnectionString"
export Storage__Prefix="${STORAGE_PREFIX:-siyu}"
export Durable__HubName="${DURABLE_HUB:-siyulocal}"
export Operator__BootstrapKey="$OPERATOR_KEY"
export Secrets__EncryptionKey="$SECRETS_KEY"
export Demo__Seed=true
export Demo__KeysFile="$root/.local/demo-keys.json"
export Channels__WeChatApiBaseUrl="http://127.0.0.1:$fake_port"
export Channels__WeComApiBaseUrl="http://127.0.0.1:$fake_port"
for channel in sms email wecom push; do export "Channels__ProviderBaseUrls__$channel=http://127.0.0.1:$fake_port"; done
export Channels__AliyunSmsEndpoint="http://127.0.0.1:$fake_port/aliyun"
export Channels__TencentSmsEndpoint="http://127.0.0.1:$fake_port/tencent"
# The fake's SMTP certificate is self-signed and new on every start: trusted by its thumbprint, as a private CA's would be.
Channels__SmtpTrustedCertificates__0="$(node -e 'fetch(process.argv[1]).then(r => r.json()).then(j => console.log(j.certificateSha256))' "http://127.0.0.1:$fake_port/fake/smtp")"
export Channels__SmtpTrustedCertificates__0
export DOTNET_ENVIRONMENT="${DOTNET_ENVIRONMENT:-Development}"
url="${SIYU_URL:-http://127.0.0.1:7071}"
# Where a marketing email's one-click unsubscribe link points.
export Delivery__PublicBaseUrl="$url"

echo "Operator bootstrap key (for /api/operator/*): $OPERATOR_KEY"
echo "API: $url   OpenAPI: $url/api/openapi.json   Health: $url/api/health   Fake provider: http://127.0.0.1:$fake_port/fake/stats"
echo "Console (sign in with the demo marketer key): $url/console/"
echo "Building the function app and the local Functions host ..."
dotnet build functions/Siyu.Functions.csproj -c Release --nologo -v quiet > .local/functions-build.log 2>&1 || { cat .local/functions-build.log; exit 1; }
dotnet build infra/Siyu.LocalHost.Cli -c Release --nologo -v quiet > .local/localhost-build.log 2>&1 || { cat .local/localhost-build.log; exit 1; }
exec dotnet infra/Siyu.LocalHost.Cli/bin/Release/net10.0/Siyu.LocalHost.Cli.dll functions/bin/Release/net10.0/Siyu.Functions.dll --url "$url"

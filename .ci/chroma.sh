#!/usr/bin/env bash
# Starts a real Chroma server for the tests and prints where it listens.
#
#   eval "$(.ci/chroma.sh)"      # exports CHROMA_URL, CHROMA_PID, CHROMA_PID_FILE, CHROMA_LOG
#   kill "$CHROMA_PID"
#
# The chromadb Python package lives in .ci/venv (created on first use). The npm package's
# `chroma run` cannot be used: its native bindings need glibc >= 2.38.
# Environment: CHROMA_PORT (default: a free port), CHROMA_DATA_DIR (default: a fresh temp dir),
# CHROMA_WAIT_S (default 60), CHROMA_PIP_SPEC (default 'chromadb>=1.5,<2': the v2 HTTP API that the
# chromadb 3.x JS client speaks; verified with chromadb 1.5.9).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.ci/venv"

if [ ! -x "$venv/bin/chroma" ]; then
  echo "chroma.sh: installing chromadb into $venv (first run only)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${CHROMA_PIP_SPEC:-chromadb>=1.5,<2}" >&2
fi

port="${CHROMA_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')}"
data_dir="${CHROMA_DATA_DIR:-$(mktemp -d -t chroma-data.XXXXXX)}"
run_dir="$(mktemp -d -t chroma-run.XXXXXX)"
log="$run_dir/chroma.log"
pid_file="$run_dir/chroma.pid"

# setsid detaches the server from this script's process group, so it outlives the caller's shell.
setsid "$venv/bin/chroma" run --path "$data_dir" --host 127.0.0.1 --port "$port" >"$log" 2>&1 </dev/null &
echo $! >"$pid_file"

url="http://127.0.0.1:$port"
deadline=$((SECONDS + ${CHROMA_WAIT_S:-60}))
until curl -fsS "$url/api/v2/heartbeat" >/dev/null 2>&1; do
  if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    echo "chroma.sh: the server exited; its log ($log):" >&2
    cat "$log" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "chroma.sh: no heartbeat from $url after ${CHROMA_WAIT_S:-60}s; log: $log" >&2
    kill "$(cat "$pid_file")" 2>/dev/null || true
    exit 1
  fi
  sleep 0.3
done

echo "CHROMA_URL=$url"
echo "CHROMA_PID=$(cat "$pid_file")"
echo "CHROMA_PID_FILE=$pid_file"
echo "CHROMA_LOG=$log"
echo "export CHROMA_URL CHROMA_PID CHROMA_PID_FILE CHROMA_LOG"

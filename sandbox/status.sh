#!/usr/bin/env bash
# Exit 0 when every sandbox service is running (judged by its pid file), 1 otherwise.
cd "$(dirname "$0")/.."
status=0
for service in samba/samba graph/graph sshd/sshd; do
  pid=$(cat ".sandbox/$service.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    echo "${service%%/*}: running (pid $pid)"
  else
    echo "${service%%/*}: stopped"
    status=1
  fi
done
exit "$status"

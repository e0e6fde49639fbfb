#!/usr/bin/env bash
# The integration tests need the machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379).
# They normally run already; start either one that does not answer, with the machine's own commands.
set -uo pipefail
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  echo "PostgreSQL does not answer on 127.0.0.1:5432; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || echo "could not start PostgreSQL"
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  echo "Redis does not answer on 127.0.0.1:6379; starting it"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || echo "could not start Redis"
fi
exit 0

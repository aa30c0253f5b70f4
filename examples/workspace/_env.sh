# Shared by the example scripts: where they keep their work (one folder per user).
work="${UNITSYNC_EXAMPLE_DIR:-${TMPDIR:-/tmp}/unitsync-example-$(id -u)}"
mkdir -p "$work"

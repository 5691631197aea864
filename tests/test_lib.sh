# Shared by the shell tests: source it after setting `name`; sets work (a temporary folder
# removed on exit), the Open MPI root variables, and the fail / counting helpers.
work=$(mktemp -d "${TMPDIR:-/tmp}/encdec_${name}.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ENCDEC_LOG=${ENCDEC_LOG:-warn}
failures=0 checks=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
# convert_fixture NAME: fx = the fixture's folder, converted to $work/m.h5 (exits on failure);
# needs `build` and `fixtures` set.
convert_fixture() {
  fx=$fixtures/$1
  "$build/encdec_convert" --quiet --hf "$fx" --out "$work/m.h5" || exit 1
}

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
# write_run_yaml MAX_BATCH: $work/run.yaml serving $work/m.h5 with max_batch_size MAX_BATCH,
# max_input_len 40 and max_output_len 24.
write_run_yaml() {
  printf 'model: %s\nmax_batch_size: %d\nmax_input_len: 40\nmax_output_len: 24\n' \
    "$work/m.h5" "$1" > "$work/run.yaml"
}
# rank_of PID: the Open MPI rank of process PID (empty when it is none of mpirun's ranks).
rank_of() { tr '\0' '\n' < "/proc/$1/environ" 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p'; }
# cpu_ticks PID: the CPU time process PID has used, user + system, in clock ticks (getconf CLK_TCK).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

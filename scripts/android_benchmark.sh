#!/usr/bin/env bash
# Measure a .tflite artifact on an Android device with LiteRT's benchmark_model, op by op.
#
#   scripts/android_benchmark.sh [options] ARTIFACT.tflite [-- EXTRA_BENCHMARK_MODEL_FLAGS...]
#
#   --threads N            CPU threads for benchmark_model --num_threads [4]
#   --runs N               timed runs, benchmark_model --num_runs [50]
#   --warmup N             warm-up runs, benchmark_model --warmup_runs [5]
#   --serial SERIAL        which device, as in adb -s (default: the only one connected)
#   --benchmark-model BIN  a benchmark_model binary for the device's ABI to push first
#                          (default: use /data/local/tmp/benchmark_model already there)
#   --out DIR              where the results go [ARTIFACT_STEM.android/ beside the artifact]
#
# It pushes the artifact with adb, runs benchmark_model with --enable_op_profiling=true,
# pulls its output and turns it into the trace `compress calibrate` reads:
#   DIR/benchmark_model.log   benchmark_model's full output
#   DIR/trace.json            scripts/parse_benchmark_model.py's trace (format in its docstring)
# Get benchmark_model from LiteRT's releases (android_aarch64_benchmark_model) or build it:
# bazel build -c opt --config=android_arm64 //tflite/tools/benchmark:benchmark_model.
# Exit codes: 0 done, 1 benchmark_model failed on the device, 2 bad input, no adb or no
# device.  Results are assembled in a temporary directory and moved into place at the end,
# and the files pushed to the device are removed, so a failure leaves nothing partial.
set -euo pipefail

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "error: $*" >&2; exit 2; }

threads=4 runs=50 warmup=5 serial="" binary="" out="" artifact=""
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --threads) threads=${2:?--threads needs a value}; shift 2 ;;
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --warmup) warmup=${2:?--warmup needs a value}; shift 2 ;;
    --serial) serial=${2:?--serial needs a value}; shift 2 ;;
    --benchmark-model) binary=${2:?--benchmark-model needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$artifact" ] || die "one ARTIFACT only (got $artifact and $1)"; artifact=$1; shift ;;
  esac
done
[ -n "$artifact" ] || { usage >&2; exit 2; }
for number in "$threads" "$runs" "$warmup"; do
  [[ $number =~ ^[0-9]+$ ]] || die "--threads, --runs and --warmup take whole numbers (got $number)"
done
[ -f "$artifact" ] || die "$artifact: no such file"
[[ $artifact == *.tflite ]] || die "$artifact: benchmark_model runs .tflite files"
[ -z "$binary" ] || [ -f "$binary" ] || die "$binary: no such benchmark_model binary"
out=${out:-$(dirname "$artifact")/$(basename "$artifact" .tflite).android}
# Only a directory this script wrote (it holds trace.json) is replaced.
if [ -e "$out" ] && [ ! -f "$out/trace.json" ]; then
  die "$out exists and is not an earlier result; choose another --out"
fi
parser=$(cd "$(dirname "$0")" && pwd)/parse_benchmark_model.py
python=${PYTHON:-python3}

command -v adb >/dev/null 2>&1 || die "adb not found: install Android platform-tools (apt-get install adb) and put adb on PATH"
adb_cmd=(adb)
[ -z "$serial" ] || adb_cmd+=(-s "$serial")
state=$("${adb_cmd[@]}" get-state 2>&1) || true
[ "$state" = "device" ] || die "no Android device ready${serial:+ with serial $serial} (adb get-state: ${state//$'\n'/ }); connect one and allow USB debugging"

device=$("${adb_cmd[@]}" shell getprop ro.product.model 2>/dev/null | tr -d '\r') || device=""
remote_dir=/data/local/tmp/edge-compressor-$$-$RANDOM
remote_binary=/data/local/tmp/benchmark_model
work=$(mktemp -d)
cleanup() {
  "${adb_cmd[@]}" shell rm -rf "$remote_dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"${adb_cmd[@]}" shell mkdir -p "$remote_dir" >/dev/null
if [ -n "$binary" ]; then
  remote_binary=$remote_dir/benchmark_model
  "${adb_cmd[@]}" push "$binary" "$remote_binary" >/dev/null
  "${adb_cmd[@]}" shell chmod 755 "$remote_binary" >/dev/null
elif ! "${adb_cmd[@]}" shell "test -x $remote_binary" >/dev/null 2>&1; then
  die "no $remote_binary on the device: give --benchmark-model BIN (LiteRT's android_aarch64_benchmark_model)"
fi
"${adb_cmd[@]}" push "$artifact" "$remote_dir/model.tflite" >/dev/null

echo "running benchmark_model on ${device:-the device} ($threads threads, $runs runs)..." >&2
# Output goes to a file on the device and is pulled: adb shell's own stdout mixes in \r
# and loses the exit status on old adb versions.
status=0
"${adb_cmd[@]}" shell "$remote_binary --graph=$remote_dir/model.tflite --num_threads=$threads \
  --num_runs=$runs --warmup_runs=$warmup --enable_op_profiling=true ${extra[*]:-} \
  > $remote_dir/benchmark_model.log 2>&1; echo \$? > $remote_dir/status" >/dev/null || true
"${adb_cmd[@]}" pull "$remote_dir/benchmark_model.log" "$work/benchmark_model.log" >/dev/null \
  || { echo "error: benchmark_model left no output on the device" >&2; exit 1; }
status=$("${adb_cmd[@]}" shell cat "$remote_dir/status" 2>/dev/null | tr -d '\r') || status=1
if [ "$status" != 0 ]; then
  echo "error: benchmark_model failed on the device (exit $status); last lines:" >&2
  tail -n 5 "$work/benchmark_model.log" >&2
  exit 1
fi
device_flag=()
[ -z "$device" ] || device_flag=(--device "$device")
"$python" "$parser" "$work/benchmark_model.log" --out "$work/trace.json" \
  "${device_flag[@]}" --threads "$threads" || exit 1

mkdir -p "$(dirname "$out")"
staging=$(mktemp -d "$(dirname "$out")/.$(basename "$out").XXXXXX")
mv "$work/benchmark_model.log" "$work/trace.json" "$staging/"
chmod 755 "$staging"
rm -rf "$out"
mv "$staging" "$out"
echo "$out/trace.json"

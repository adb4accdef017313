#!/usr/bin/env bash
# Measure a .tflite artifact on a Raspberry Pi (or any Linux board reachable over ssh).
#
#   scripts/rpi_benchmark.sh [options] HOST ARTIFACT.tflite
#
#   HOST                    an ssh destination: pi@raspberrypi.local, or a Host from ~/.ssh/config
#   --threads N             interpreter threads [4]
#   --runs N                timed runs [50]
#   --warmup N              warm-up runs, not timed [5]
#   --python PY             Python on the board that has ai-edge-litert (or tflite-runtime) [python3]
#   --benchmark-model PATH  instead, run LiteRT's benchmark_model at PATH on the board with
#                           --enable_op_profiling=true, and also write the op trace
#   --ssh-option OPT        passed to ssh and scp as -o OPT (repeatable), e.g. Port=2222
#   --out DIR               where the results go [ARTIFACT_STEM.rpi/ beside the artifact]
#
# It copies the artifact over ssh into a temporary directory on the board, runs a small
# Python runner there (random inputs of each input's shape and dtype; wall time per
# invoke) and brings back DIR/bench.json:
#   {"format": "edge-compressor-bench", "version": 1, "runtime": "ai-edge-litert 1.x",
#    "device": "Raspberry Pi 5 Model B Rev 1.0", "machine": "aarch64", "threads": 4,
#    "runs": 50, "warmup_runs": 5, "latency_ms": {"mean", "median", "min", "max", "p90", "std"},
#    "samples_ms": [...]}
# With --benchmark-model it brings back DIR/benchmark_model.log and DIR/trace.json (the
# trace `compress calibrate` reads; see scripts/parse_benchmark_model.py) instead.
# Exit codes: 0 done, 1 the run failed on the board, 2 bad input, no ssh/scp or the board
# cannot be reached.  Results are assembled in a temporary directory and moved into place;
# the board's temporary directory is removed, so a failure leaves nothing partial.
set -euo pipefail

usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "error: $*" >&2; exit 2; }

threads=4 runs=50 warmup=5 remote_python=python3 benchmark_model="" out="" host="" artifact=""
ssh_opts=(-o BatchMode=yes -o ConnectTimeout=10)
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --threads) threads=${2:?--threads needs a value}; shift 2 ;;
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --warmup) warmup=${2:?--warmup needs a value}; shift 2 ;;
    --python) remote_python=${2:?--python needs a value}; shift 2 ;;
    --benchmark-model) benchmark_model=${2:?--benchmark-model needs a value}; shift 2 ;;
    --ssh-option) ssh_opts+=(-o "${2:?--ssh-option needs a value}"); shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
      if [ -z "$host" ]; then host=$1
      elif [ -z "$artifact" ]; then artifact=$1
      else die "unexpected argument $1 (HOST and ARTIFACT only)"
      fi
      shift ;;
  esac
done
[ -n "$artifact" ] || { usage >&2; exit 2; }
for number in "$threads" "$runs" "$warmup"; do
  [[ $number =~ ^[0-9]+$ ]] || die "--threads, --runs and --warmup take whole numbers (got $number)"
done
[ "$runs" -gt 0 ] || die "--runs must be at least 1"
[ -f "$artifact" ] || die "$artifact: no such file"
[[ $artifact == *.tflite ]] || die "$artifact: the board runs .tflite files with LiteRT"
out=${out:-$(dirname "$artifact")/$(basename "$artifact" .tflite).rpi}
# Only a directory this script wrote is replaced.
if [ -e "$out" ] && [ ! -f "$out/bench.json" ] && [ ! -f "$out/trace.json" ]; then
  die "$out exists and is not an earlier result; choose another --out"
fi
parser=$(cd "$(dirname "$0")" && pwd)/parse_benchmark_model.py
python=${PYTHON:-python3}

for tool in ssh scp; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: install an OpenSSH client (apt-get install openssh-client)"
done
ssh "${ssh_opts[@]}" "$host" true </dev/null >/dev/null 2>&1 \
  || die "cannot reach $host over ssh (key-based login is needed: ssh-copy-id $host)"

remote_dir=$(ssh "${ssh_opts[@]}" "$host" "mktemp -d /tmp/edge-compressor.XXXXXX" </dev/null) \
  || die "cannot make a temporary directory on $host"
work=$(mktemp -d)
cleanup() {
  ssh "${ssh_opts[@]}" "$host" "rm -rf '$remote_dir'" </dev/null >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The runner that executes on the board: stdlib + numpy + the LiteRT interpreter only.
cat > "$work/bench_runner.py" <<'RUNNER'
import json, platform, statistics, sys, time
from pathlib import Path

model, threads, runs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
try:
    from ai_edge_litert.interpreter import Interpreter
    from importlib.metadata import version
    runtime = f"ai-edge-litert {version('ai-edge-litert')}"
except ImportError:
    try:
        from tflite_runtime.interpreter import Interpreter
        import tflite_runtime
        runtime = f"tflite-runtime {getattr(tflite_runtime, '__version__', '?')}"
    except ImportError:
        print("error: neither ai-edge-litert nor tflite-runtime is installed on the board "
              "(pip install ai-edge-litert)", file=sys.stderr)
        sys.exit(2)
import numpy as np

interpreter = Interpreter(model_path=model, num_threads=threads)
interpreter.allocate_tensors()
rng = np.random.default_rng(0)
for detail in interpreter.get_input_details():
    shape, dtype = detail["shape"], np.dtype(detail["dtype"])
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    else:
        data = rng.standard_normal(shape).astype(dtype)
    interpreter.set_tensor(detail["index"], data)
for _ in range(warmup):
    interpreter.invoke()
samples_ms = []
for _ in range(runs):
    start = time.perf_counter()
    interpreter.invoke()
    samples_ms.append((time.perf_counter() - start) * 1e3)
tree_model = Path("/proc/device-tree/model")
device = tree_model.read_text().strip("\x00\n ") if tree_model.exists() else platform.node()
ordered = sorted(samples_ms)
print(json.dumps({
    "format": "edge-compressor-bench", "version": 1, "runtime": runtime, "model": Path(model).name,
    "device": device, "machine": platform.machine(), "threads": threads, "runs": runs,
    "warmup_runs": warmup,
    "latency_ms": {"mean": statistics.fmean(samples_ms), "median": statistics.median(samples_ms),
                   "min": ordered[0], "max": ordered[-1],
                   "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
                   "std": statistics.pstdev(samples_ms)},
    "samples_ms": samples_ms,
}, indent=2))
RUNNER

scp -q "${ssh_opts[@]}" "$artifact" "$host:$remote_dir/model.tflite" </dev/null
echo "running on $host ($threads threads, $runs runs)..." >&2
if [ -z "$benchmark_model" ]; then
  scp -q "${ssh_opts[@]}" "$work/bench_runner.py" "$host:$remote_dir/bench_runner.py" </dev/null
  status=0
  ssh "${ssh_opts[@]}" "$host" "cd '$remote_dir' && '$remote_python' bench_runner.py model.tflite \
    $threads $runs $warmup > bench.json 2> runner.log" </dev/null || status=$?
  if [ "$status" != 0 ]; then
    scp -q "${ssh_opts[@]}" "$host:$remote_dir/runner.log" "$work/runner.log" </dev/null || true
    echo "error: the runner failed on $host (exit $status):" >&2
    tail -n 5 "$work/runner.log" >&2 2>/dev/null || true
    exit 1
  fi
  scp -q "${ssh_opts[@]}" "$host:$remote_dir/bench.json" "$work/bench.json" </dev/null
  "$python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/bench.json" \
    || { echo "error: the runner on $host did not write JSON" >&2; exit 1; }
  results=("$work/bench.json")
else
  status=0
  ssh "${ssh_opts[@]}" "$host" "cd '$remote_dir' && '$benchmark_model' --graph=model.tflite \
    --num_threads=$threads --num_runs=$runs --warmup_runs=$warmup --enable_op_profiling=true \
    > benchmark_model.log 2>&1" </dev/null || status=$?
  scp -q "${ssh_opts[@]}" "$host:$remote_dir/benchmark_model.log" "$work/benchmark_model.log" </dev/null \
    || { echo "error: benchmark_model left no output on $host" >&2; exit 1; }
  if [ "$status" != 0 ]; then
    echo "error: benchmark_model failed on $host (exit $status); last lines:" >&2
    tail -n 5 "$work/benchmark_model.log" >&2
    exit 1
  fi
  device=$(ssh "${ssh_opts[@]}" "$host" "tr -d '\\0' 2>/dev/null < /proc/device-tree/model || uname -n" </dev/null) || device=""
  device_flag=()
  [ -z "$device" ] || device_flag=(--device "$device")
  "$python" "$parser" "$work/benchmark_model.log" --out "$work/trace.json" "${device_flag[@]}" \
    --threads "$threads" || exit 1
  results=("$work/benchmark_model.log" "$work/trace.json")
fi

mkdir -p "$(dirname "$out")"
staging=$(mktemp -d "$(dirname "$out")/.$(basename "$out").XXXXXX")
mv "${results[@]}" "$staging/"
chmod 755 "$staging"
rm -rf "$out"
mv "$staging" "$out"
echo "$out/$(basename "${results[-1]}")"

#!/usr/bin/env bash
# Every GPU check and benchmark of issue 15 in one command, sized for one lent device (about 8 of
# its 10 minutes per command; each part has its own timeout, so one slow part cannot eat the
# rest). Figures go to $OUT (the device tool's output folder) as JSON next to the printed tables.
#
#     bash benchmarks/gpu_session.sh        # on the device, from the repository root
#
# What it measures (benchmarks/README.md quotes the figures with this command):
# - the CUDA tests: the stage-2 step never waits for the device (sync debug mode), fused Adam
#   trains as the default Adam (tests/test_cuda_step.py), mixed precision (tests/test_amp.py);
# - the `paper` SRN step per variant (eager, channels_last, channels_last + CUDA graphs through
#   torch.compile mode reduce-overhead, with its capture cost as "1st step s") in bf16, and
#   channels_last in fp16 and fp32, with the data loader's share once; the DSN step; the
#   domain-distance maps and generation. Each table ends with the aim2019-x4 hours per stage.
set -u
out=${OUT:-gpu-out}
mkdir -p "$out"
part() {  # part SECONDS NAME COMMAND...: run one part under its own limit, log it to $OUT/NAME.log
  local limit=$1 name=$2
  shift 2
  echo "== $name"
  timeout "$limit" "$@" 2>&1 | tee "$out/$name.log" | grep -v "it/s\]" | tail -40
  echo "== $name: exit ${PIPESTATUS[0]}"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
part 240 install pip install -q -e ".[test]"
part 120 cuda-tests python -m pytest -q tests/test_cuda_step.py tests/test_amp.py
part 150 srn-bf16 python benchmarks/train_srn_speed.py --preset paper --device cuda --steps 8 \
  --variants eager,channels_last,channels_last+graphs --data-steps 10 --json "$out/srn-bf16.json"
part 60 srn-fp16 python benchmarks/train_srn_speed.py --preset paper --device cuda --steps 8 --amp fp16 \
  --variants channels_last --no-data --json "$out/srn-fp16.json"
part 60 srn-fp32 python benchmarks/train_srn_speed.py --preset paper --device cuda --steps 8 --amp fp32 \
  --variants channels_last --no-data --json "$out/srn-fp32.json"
part 60 dsn-bf16 python benchmarks/train_dsn_speed.py --preset paper --device cuda --steps 10 \
  --variants channels_last --no-data --json "$out/dsn-bf16.json"
part 60 maps python benchmarks/maps_speed.py --device cuda

#!/usr/bin/env bash
# PyTorch CPU timings of the zoo's CIFAR variants, for `npm run bench -- --peers` (a benchmark helper, never a test or
# run-time dependency). Same arguments and output as ../shared/peers/run-pytorch.sh:
#   bench/run-torch-zoo.sh [threads=2] [mode=train|infer] [models=densenet-bc-100,...] [batches=64]
# OPENBLAS_CORETYPE is unset for this command only (the environment pins it to Haswell, which halves OpenBLAS's speed
# on AVX-512 cores).
set -eu
threads=${1:-2}; mode=${2:-train}; models=${3:-densenet-bc-100}; batches=${4:-64}
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo '{"error": "PyTorch is missing: apt-get install python3-torch python3-torchvision libopenblas0-pthread"}'; exit 1
fi
cd "$(dirname "$0")"
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$threads" \
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread \
  /usr/bin/python3 -u torch_zoo.py --threads "$threads" --mode "$mode" --models "$models" --batches "$batches"

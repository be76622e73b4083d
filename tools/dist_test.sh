#!/usr/bin/env bash
# Distributed testing through torchrun and mmengine's launcher.
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
set -euo pipefail
if (( $# < 3 )); then
    echo "usage: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$TOOLS_DIR/..:${PYTHONPATH:-}" \
python -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$TOOLS_DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"

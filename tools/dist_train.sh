#!/usr/bin/env bash
# Distributed training through torchrun and mmengine's launcher.
# Usage: bash tools/dist_train.sh CONFIG GPUS [train.py options]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as for torchrun.
set -euo pipefail
if (( $# < 2 )); then
    echo "usage: bash tools/dist_train.sh CONFIG GPUS [train.py options]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$TOOLS_DIR/..:${PYTHONPATH:-}" \
python -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$TOOLS_DIR/train.py" "$CONFIG" --launcher pytorch "${@:3}"

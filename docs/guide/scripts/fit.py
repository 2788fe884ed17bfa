"""Train vamoh on every GPU of every node: `torchrun` or SLURM's `srun` start one copy per GPU.

    torchrun --nnodes=2 --nproc-per-node=4 --node-rank=$NODE --master-addr=$HEAD \
        fit.py /shared/era5.zarr --out /shared/t2m.vamoh --checkpoints /shared/ckpt
    srun python fit.py /shared/era5.zarr --out /shared/t2m.vamoh --checkpoints /shared/ckpt

Run directly (`python fit.py ...`), it trains on the GPUs of this machine ("auto").
"""

from __future__ import annotations

import argparse
import os

import xarray as xr
from lightning.pytorch.utilities import rank_zero_only

import vamoh


def launch_shape() -> tuple[int | str, int]:
    """(processes per node, nodes) as torchrun or srun started them; ("auto", 1) otherwise."""
    if "LOCAL_WORLD_SIZE" in os.environ:  # torchrun
        per_node = int(os.environ["LOCAL_WORLD_SIZE"])
        return per_node, int(os.environ["WORLD_SIZE"]) // per_node
    if "SLURM_NTASKS_PER_NODE" in os.environ:  # srun, with #SBATCH --ntasks-per-node
        return int(os.environ["SLURM_NTASKS_PER_NODE"]), int(os.environ["SLURM_NNODES"])
    return "auto", 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", help="a Zarr store on a file system every node sees")
    parser.add_argument("--out", required=True, help="the model file to write (rank 0 writes)")
    parser.add_argument("--variable", default="t2m", help="the variable to model")
    parser.add_argument("--checkpoints", help="a shared folder for last.ckpt and best.ckpt")
    parser.add_argument("--resume", help="a last.ckpt to continue from")
    parser.add_argument("--epochs", type=int, help="training epochs (default: the modality's)")
    args = parser.parse_args()

    devices, nodes = launch_shape()
    data = xr.open_zarr(args.store)[args.variable]  # lazy: batches are read when needed
    model = vamoh.fit(
        data,
        max_epochs=args.epochs,
        trainer={"strategy": "ddp", "devices": devices, "num_nodes": nodes},
        checkpoint_dir=args.checkpoints,
        resume=args.resume,
    )
    if rank_zero_only.rank == 0:  # every process holds the same weights: one writes them
        model.save(args.out, overwrite=True)


if __name__ == "__main__":
    main()

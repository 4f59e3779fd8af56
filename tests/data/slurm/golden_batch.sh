#!/bin/bash
#SBATCH --job-name=B
#SBATCH --output=/sdf/work/slurm/B_xpp12345_r7_20261121T093005_%j.log
#SBATCH --export=ALL
# Written by lute for managed task Tester.
# Submitted with these sbatch options too: --dependency=afterok:11:12 --kill-on-invalid-dep=yes --partition=milano --time=00:10:00
export EXPERIMENT=xpp12345
export RUN_NUM=7
exec /opt/lute/bin/python -m lute --debug run -t Tester -c /sdf/cfg/test.yaml

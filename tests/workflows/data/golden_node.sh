#!/bin/bash
#SBATCH --job-name=Indexer
#SBATCH --output=/sdf/work/slurm/Indexer_xpp12345_r7_20261121T093005_%j.log
#SBATCH --export=ALL
# Written by lute for managed task WriteTester.
# Submitted with these sbatch options too: --dependency=afterok:11 --kill-on-invalid-dep=yes --time=10 --ntasks=4 --nodes=1-1 --partition=debug
# Executor setting retries=2 from the workflow node ($LUTE_EXECUTOR_SETTINGS)
# Executor setting time_limit=30.0 from the workflow node ($LUTE_EXECUTOR_SETTINGS)
export EXPERIMENT=xpp12345
export RUN_NUM=7
export LUTE_EXECUTOR_SETTINGS='{"retries": 2, "time_limit": 30.0}'
exec /opt/lute/bin/python -m lute run -t WriteTester -c /sdf/cfg/c.yaml

#!/bin/sh
# Installs the benchmark's Python peer: Debian's PyTorch (1.13) with a multithreaded OpenBLAS, and numpy.
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3-torch libopenblas0-pthread python3-numpy >/dev/null

#!/bin/sh
# Rebuilds the committed probe object and its stamp. Run after editing
# probe.bpf.c or probe.h, and commit all four files together; the test
# tests/bpf_probe_object.rs fails until you do.
set -eu
cd "$(dirname "$0")"
clang -target bpf -mcpu=v3 -O2 -g -fdebug-prefix-map="$PWD"=. -c probe.bpf.c -o probe.bpf.o
sha256sum probe.bpf.c probe.h probe.bpf.o > probe.bpf.o.sha256
clang --version | head -n 1 > probe.bpf.o.clang

# Sourced by tools/install.sh: install the CPU build of torch 2.13.0, never a CUDA one.
#
# On x86_64 Linux, PyPI's torch 2.13.0 is a multi-GB CUDA build, so the CPU wheel
# is pinned by its local version (+cpu): first from the indexes pip is configured
# with (a local wheel folder or mirror), then from PyTorch's CPU index. Elsewhere
# (aarch64, macOS) PyPI's wheel is the CPU build.
install_cpu_torch() {
    if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
        $PIP "torch==2.13.0"
        return
    fi
    if $PIP "torch==2.13.0+cpu" 2>/dev/null; then
        return
    fi
    $PIP "torch==2.13.0+cpu" --index-url https://download.pytorch.org/whl/cpu \
        --extra-index-url https://pypi.org/simple
}

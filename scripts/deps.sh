# Makes sure the Debian packages the build and the tests need are installed: installs them when
# run as root with apt-get, otherwise says what to install and fails.
# shellcheck shell=bash

ensure_packages() {
    local missing=()
    [[ -f /usr/include/hiredis/hiredis.h ]] || missing+=(libhiredis-dev)
    # The node's allocator (linked by the switchboard executable).
    [[ -f /usr/include/jemalloc/jemalloc.h ]] || missing+=(libjemalloc-dev)
    [[ -f /usr/include/zlib.h ]] || missing+=(zlib1g-dev)
    if [[ "${1:-}" == "--tests" ]]; then
        command -v redis-server >/dev/null || missing+=(redis-server)
        command -v curl >/dev/null || missing+=(curl)
        command -v haproxy >/dev/null || missing+=(haproxy)
        # The browser tests: headless Chromium and its WebDriver.
        command -v chromium >/dev/null || missing+=(chromium)
        command -v chromedriver >/dev/null || missing+=(chromium-driver)
    fi
    (( ${#missing[@]} )) || return 0
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "missing packages: ${missing[*]}" >&2
        echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
        return 1
    fi
}

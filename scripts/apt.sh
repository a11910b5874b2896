# Sourced by the set-up and test scripts: apt_install PKG... installs Debian packages quietly,
# with sudo when not root, refreshing the package lists only when a first try fails.
apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 || {
        $sudo apt-get update -qq >/dev/null
        $sudo apt-get install -y --no-install-recommends "$@" >/dev/null
    }
}

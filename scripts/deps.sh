#!/usr/bin/env bash
# Installs what building, mounting and testing ssefs needs on Debian 12.
# Idempotent and quick when everything is already there.
set -euo pipefail
pkgs=(fuse3 rsync sqlite3 git attr tar diffutils procps util-linux)
[ "${1:-}" = "bench" ] && pkgs+=(gocryptfs securefs cryfs encfs rclone fio)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "deps: Go is required (https://go.dev/dl); none found on PATH" >&2; exit 1; }
go mod download
# Lint tools, pinned: `make lint` runs them.
if [ "${1:-}" = "lint" ]; then
  command -v staticcheck >/dev/null || [ -x "$(go env GOPATH)/bin/staticcheck" ] ||
    go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi

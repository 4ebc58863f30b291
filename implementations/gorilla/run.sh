#!/bin/sh
# Build offline in GOPATH mode against Debian's /usr/share/gocode (no module proxy), then run.
set -e
cd "$(dirname "$0")"
export GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS=
go build -o .build/gorilla-app .
exec .build/gorilla-app

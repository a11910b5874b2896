#!/usr/bin/env bash
# The public surface of libedgeq, checked from outside (registered in ctest as public_api):
#   headers  include/*.h compile alone as C89 and C99 with -pedantic and as C++, -Werror;
#            every function declared there is marked EQ_API
#   exports  libedgeq.so exports exactly the EQ_API functions of include/ (nm -D)
#   archive  libedgeq.a defines no cJSON_* symbol (cJSON is compiled as eq_cJSON_*)
#   version  edgeq.h, CMake's project version, js/package.json (and its lock) and
#            `edgeq --version` (the library's eq_version()) agree
# usage: check.sh --cc CC --archive libedgeq.a --edgeq EDGEQ --version X.Y.Z [--so libedgeq.so]
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
CC=cc ARCHIVE= SO= EDGEQ= CMAKE_VERSION=
while [ $# -gt 0 ]; do
  case $1 in
    --cc) CC=$2; shift 2;; --archive) ARCHIVE=$2; shift 2;; --so) SO=$2; shift 2;;
    --edgeq) EDGEQ=$2; shift 2;; --version) CMAKE_VERSION=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# ---- headers
for h in include/*.h; do
  printf '#include "%s"\n#include "%s"\nint main(void) { return 0; }\n' "$(basename "$h")" "$(basename "$h")" > "$tmp/h.c"
  for std in c89 c99 c11; do
    if "$CC" -std=$std -pedantic -Wall -Wextra -Werror -Iinclude -fsyntax-only "$tmp/h.c" 2> "$tmp/err"; then ok
    else bad "$h as -std=$std -pedantic: $(head -n 3 "$tmp/err")"; fi
  done
done
CXX=
case $(basename "$CC") in *clang*) cand=clang++;; *) cand=g++;; esac
for c in "$cand" c++ g++ clang++; do command -v "$c" >/dev/null 2>&1 && { CXX=$c; break; }; done
if [ -z "$CXX" ]; then bad "no C++ compiler found to compile the headers as C++"
else
  printf '#include "edgeq.h"\n#include "edgeq_quantize.h"\nint main() { eq_model *m = 0; eq_model_free(m); return eq_version() ? 0 : 1; }\n' > "$tmp/all.cpp"
  for std in c++98 c++11 c++17; do
    if "$CXX" -std=$std -pedantic -Wall -Wextra -Werror -Iinclude -fsyntax-only "$tmp/all.cpp" 2> "$tmp/err"; then ok
    else bad "include/*.h as $std: $(head -n 3 "$tmp/err")"; fi
  done
fi
# a function declared at the start of a line without EQ_API would be hidden in libedgeq.so
unmarked=$(grep -nE '^[A-Za-z_][A-Za-z0-9_ ]*[ *]eq_[a-z0-9_]+\(' include/*.h | grep -v ':EQ_API ' | grep -v ':typedef ')
[ -z "$unmarked" ] && ok || bad "declared without EQ_API: $unmarked"
# the EQ_API functions (one declaration per line, the name before the first parenthesis)
grep -hE '^EQ_API ' include/*.h | sed -E 's/\(.*//; s/.*[ *]//' | sort -u > "$tmp/api"
[ "$(wc -l < "$tmp/api")" -gt 40 ] && ok || bad "only $(wc -l < "$tmp/api") EQ_API functions found in include/"

# ---- exports of the shared library
if [ -n "$SO" ]; then
  if nm -D --defined-only "$SO" > "$tmp/nm" 2> "$tmp/err"; then
    # the linker's own markers are not ours
    awk '{print $NF}' "$tmp/nm" | grep -vxE '_init|_fini|_edata|_end|__bss_start' | sed 's/@.*//' | sort -u > "$tmp/exp"
    extra=$(comm -23 "$tmp/exp" "$tmp/api" | tr '\n' ' ')
    missing=$(comm -13 "$tmp/exp" "$tmp/api" | tr '\n' ' ')
    [ -z "$extra" ] && ok || bad "libedgeq.so exports what include/ does not declare: $extra"
    [ -z "$missing" ] && ok || bad "libedgeq.so does not export: $missing"
    echo "libedgeq.so: $(wc -l < "$tmp/exp") symbols exported, $(wc -l < "$tmp/api") EQ_API functions declared"
  else bad "nm -D $SO: $(head -n 2 "$tmp/err")"; fi
fi

# ---- the static archive keeps cJSON under its own names
if [ -n "$ARCHIVE" ]; then
  cj=$(nm --defined-only "$ARCHIVE" 2>/dev/null | awk 'NF == 3 && $2 ~ /[TDRBC]/ {print $3}' | grep -E '^cJSON_' | head -n 5 | tr '\n' ' ')
  [ -z "$cj" ] && ok || bad "libedgeq.a defines cJSON symbols a user's cJSON would clash with: $cj"
  n=$(nm --defined-only "$ARCHIVE" 2>/dev/null | grep -c ' T eq_cJSON_Parse$')
  [ "$n" = 1 ] && ok || bad "libedgeq.a: eq_cJSON_Parse defined $n times (expected once)"
fi

# ---- one version
v_h=$(sed -nE 's/^#define EQ_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+).*/\2/p' include/edgeq.h | paste -sd.)
[[ $v_h =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && ok || bad "include/edgeq.h: no EQ_VERSION_MAJOR/MINOR/PATCH (got '$v_h')"
[ -z "$CMAKE_VERSION" ] || { [ "$CMAKE_VERSION" = "$v_h" ] && ok || bad "CMake project version $CMAKE_VERSION, edgeq.h $v_h"; }
v_js=$(python3 -c 'import json,sys; print(json.load(open("js/package.json"))["version"])' 2>&1)
[ "$v_js" = "$v_h" ] && ok || bad "js/package.json version $v_js, include/edgeq.h $v_h"
if [ -f js/package-lock.json ]; then
  v_lock=$(python3 -c 'import json; d=json.load(open("js/package-lock.json")); print(d["version"], d["packages"][""]["version"])' 2>&1)
  [ "$v_lock" = "$v_h $v_h" ] && ok || bad "js/package-lock.json versions '$v_lock', include/edgeq.h $v_h"
fi
if [ -n "$EDGEQ" ]; then
  out=$("$EDGEQ" --version 2>&1)
  [ "$out" = "edgeq $v_h" ] && ok || bad "edgeq --version says '$out', include/edgeq.h $v_h"
fi

echo "public_api: $pass passed, $fail failed"
[ $fail -eq 0 ]

#!/bin/sh
# format.sh - apply .clang-format to every C file of herald, or check it.
#   format.sh          rewrite the files in place (make format)
#   format.sh --check  fail if any file differs (make check-format, the
#                      format test); exit 77 where clang-format is missing
# The list of formatted files is kept here only.
set -eu
cd "$(dirname "$0")/.."

files="src/*.c src/*.h include/*.h tests/*.c bench/*.c bench/*.h fuzz/*.c"

if ! command -v clang-format >/dev/null 2>&1; then
    echo "herald: clang-format is not installed (apt-get install clang-format)" >&2
    exit 77
fi
if [ "${1:-}" = --check ]; then
    # shellcheck disable=SC2086
    exec clang-format --dry-run --Werror $files
fi
# shellcheck disable=SC2086
exec clang-format -i $files

#!/usr/bin/env bash
# Fuzzes the MSLP parsers under libFuzzer (see fuzz/README.md).
#
#   fuzz/run.sh [TARGET] [SECONDS] [-- LIBFUZZER_FLAGS...]
#
# TARGET is request, items, reply, csv, all (the default: each in turn) or build (build only).
# SECONDS is the run time per target (default 60). Builds into fuzz/.build/, keeps the generated
# corpus in fuzz/.work/<target>/ and crashes in fuzz/.work/artifacts/<target>/ (both git-ignored);
# the committed seeds in fuzz/corpus/<target>/ are read, never written.
#
# Environment: SWIFTC (default swiftc), FUZZ_OPT (default -Onone: keeps the standard library's
# debug checks, such as bounds checks on unsafe buffer subscripts; -O runs faster), FUZZ_NICE
# (default "nice -n 19"; the machine is shared).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
targets_all=(request items reply csv)

target="${1:-all}"
seconds="${2:-60}"
shift $(( $# < 2 ? $# : 2 ))
if [[ "${1:-}" == "--" ]]; then shift; fi
extra=("$@")

swiftc="${SWIFTC:-swiftc}"
opt="${FUZZ_OPT:--Onone}"
read -r -a nice_cmd <<< "${FUZZ_NICE-nice -n 19}"
build="$here/.build"
work="$here/.work"

case "$target" in
    all) targets=("${targets_all[@]}") ;;
    build) targets=() ;;
    request|items|reply|csv) targets=("$target") ;;
    *) echo "usage: fuzz/run.sh [request|items|reply|csv|all|build] [seconds] [-- libFuzzer flags]" >&2; exit 2 ;;
esac
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "seconds must be a number: $seconds" >&2; exit 2; }

common=(-swift-version 6 -parse-as-library -sanitize=fuzzer,address "$opt" -g)

# True when $1 is missing or older than any of the remaining files.
stale() {
    local out="$1"; shift
    [[ -e "$out" ]] || return 0
    local f
    for f in "$@"; do [[ "$f" -nt "$out" ]] && return 0; done
    return 1
}

# swiftc, niced, without the linker's harmless "Cannot export local symbol '__asan_…'" noise.
compile() {
    "${nice_cmd[@]}" "$swiftc" "$@" 2> >(grep -v "Cannot export local symbol '__asan" >&2)
}

# A library module, instrumented, as a static library plus its .swiftmodule: NAME from
# Sources/NAME, or from the directory after --from (the CSV package's checkout).
build_module() {
    local name="$1"; shift
    local from="$root/Sources/$name"
    if [[ "${1:-}" == --from ]]; then from="$2"; shift 2; fi
    local sources=("$from"/*.swift)
    if stale "$build/lib$name.a" "${sources[@]}" "$here/run.sh" "$@"; then
        echo "building $name ($opt)" >&2
        compile "${common[@]}" -module-name "$name" -I "$build" -enable-testing -wmo \
            -emit-library -static -emit-module -emit-module-path "$build/$name.swiftmodule" \
            -o "$build/lib$name.a" "${sources[@]}"
    fi
}

build_target() {
    local t="$1"
    local sources=("$here/Targets/Support.swift" "$here/Targets/$t.swift")
    local libraries=(-lMSLP -lMedsettleCore)
    [[ "$t" == csv ]] && libraries=(-lReferenceFiles -lCSV "${libraries[@]}")
    if stale "$build/fuzz-$t" "${sources[@]}" "$build"/lib*.a; then
        echo "building fuzz-$t" >&2
        compile "${common[@]}" -module-name "Fuzz_$t" -I "$build" \
            -L "$build" "${libraries[@]}" -o "$build/fuzz-$t" "${sources[@]}"
    fi
}

# The CSV parser the reference files use (yaslab/CSV.swift), from the package's checkout:
# `swift package resolve` fetches it when the checkout is missing.
csv_sources() {
    local checkout="$root/.build/checkouts/CSV.swift/Sources/CSV"
    if [[ ! -d "$checkout" ]]; then
        echo "resolving the package's dependencies for CSV.swift" >&2
        (cd "$root" && swift package resolve >&2)
    fi
    echo "$checkout"
}

mkdir -p "$build"
# A change of FUZZ_OPT rebuilds everything.
if [[ "$(cat "$build/opt" 2>/dev/null)" != "$opt" ]]; then rm -f "$build"/*.a "$build"/fuzz-*; echo "$opt" > "$build/opt"; fi
build_module MedsettleCore
build_module MSLP "$build/libMedsettleCore.a"
if [[ " ${targets[*]:-${targets_all[*]}} " == *" csv "* ]]; then
    build_module CSV --from "$(csv_sources)"
    build_module ReferenceFiles "$build/libMedsettleCore.a" "$build/libCSV.a"
fi
for t in "${targets[@]:-${targets_all[@]}}"; do build_target "$t"; done

status=0
for t in "${targets[@]}"; do
    mkdir -p "$work/$t" "$work/artifacts/$t"
    echo "== fuzzing $t for ${seconds}s (log: fuzz/.work/$t.log)" >&2
    # Swift's own crash backtracer would hold the run up for each crash; libFuzzer reports them.
    set +e
    SWIFT_BACKTRACE=enable=no "${nice_cmd[@]}" "$build/fuzz-$t" \
        "$work/$t" "$here/corpus/$t" \
        -dict="$here/dict/$t.dict" \
        -max_len=20000 -timeout=5 -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$t/" \
        "${extra[@]}" 2>&1 | tee "$work/$t.log"
    rc=${PIPESTATUS[0]}
    set -e
    if [[ $rc -ne 0 ]]; then
        echo "== $t: libFuzzer exited with $rc; see fuzz/.work/$t.log and fuzz/.work/artifacts/$t/" >&2
        status=$rc
    else
        echo "== $t: no crash, hang or memory blow-up in ${seconds}s" >&2
    fi
done
exit $status

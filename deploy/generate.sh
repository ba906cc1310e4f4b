#!/usr/bin/env bash
# Writes the shell completions and the man pages of `medsettle`, produced from the CLI itself,
# under DIR (default .build/deploy; nothing here is committed):
#   completions/medsettle.bash   → /usr/share/bash-completion/completions/medsettle
#   completions/_medsettle       → /usr/share/zsh/vendor-completions/_medsettle
#   completions/medsettle.fish   → /usr/share/fish/vendor_completions.d/medsettle.fish
#   man/medsettle.1, man/medsettle.COMMAND.1 …  → /usr/local/share/man/man1/
# The completions are `medsettle --generate-completion-script SHELL` (swift-argument-parser's,
# with the settings' flags added); the man pages are swift-argument-parser's generate-manual
# plugin's, from the description `--help` prints. Usage: deploy/generate.sh [DIR] [--release]
set -euo pipefail
cd "$(dirname "$0")/.."

out=.build/deploy
configuration=debug
for argument in "$@"; do
    case "$argument" in
        --release) configuration=release ;;
        -*) echo "usage: deploy/generate.sh [DIR] [--release]" >&2; exit 64 ;;
        *) out=$argument ;;
    esac
done

swift build -c "$configuration" --product medsettle
binary="$(swift build -c "$configuration" --show-bin-path)/medsettle"
mkdir -p "$out/completions" "$out/man"
"$binary" --generate-completion-script bash > "$out/completions/medsettle.bash"
"$binary" --generate-completion-script zsh > "$out/completions/_medsettle"
"$binary" --generate-completion-script fish > "$out/completions/medsettle.fish"

# The plugin builds the package's executables and renders one page per command.
swift package plugin generate-manual --configuration "$configuration" --multi-page \
    --authors "the medsettle authors" >/dev/null
cp .build/plugins/GenerateManual/outputs/medsettle/*.1 "$out/man/"

echo "completions: $out/completions ($(ls "$out/completions" | tr '\n' ' '))"
echo "man pages:   $out/man ($(ls "$out/man" | wc -l) pages; man -l $out/man/medsettle.1)"

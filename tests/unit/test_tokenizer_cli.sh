#!/bin/bash
# encdec_tokenize and the tokenizer in the .h5: a T5 checkpoint (tests/golden/fixtures) beside a T5
# tokenizer's files (tests/golden/tokenizers/local/t5) converts into a model that carries them;
# encdec_tokenize gives the same ids from the directory and from the .h5, decodes plain text back
# to itself, names a bad line, and a model converted without tokenizer files says it has none.
# usage: test_tokenizer_cli.sh BUILD_DIR GOLDEN_DIR
set -uo pipefail
build=$1 golden=$2
tok=$golden/tokenizers/local/t5
work=$(mktemp -d "${TMPDIR:-/tmp}/encdec_tokenize.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# Five plain single-spaced ASCII lines: T5 gives them back exactly.
grep -E '^[A-Za-z0-9,.()-]+( [A-Za-z0-9,.()-]+)*$' "$golden/tokenizers/local/lines.txt" | head -5 \
  >"$work/text.txt"
[ "$(wc -l <"$work/text.txt")" -eq 5 ] || fail "lines.txt: 5 plain lines expected"
jq -R . <"$work/text.txt" >"$work/decoded.txt"
same_json() { cmp -s <(jq -c . <"$1") <(jq -c . <"$2"); }

"$build/encdec_tokenize" --hf "$tok" <"$work/text.txt" >"$work/ids.txt" || fail "encode from --hf"
[ "$(jq -c '.[-1]' <"$work/ids.txt" | sort -u)" = 1 ] || fail "T5 ids do not end with </s> (1)"

mkdir "$work/model"
cp "$golden/fixtures/t5_v1_0_tied/config.json" "$golden"/fixtures/t5_v1_0_tied/*.safetensors* \
   "$work/model/"
cp "$tok"/* "$work/model/"
"$build/encdec_convert" --quiet --hf "$work/model" --out "$work/m.h5" || fail "convert with tokenizer"
"$build/encdec_tokenize" --model "$work/m.h5" <"$work/text.txt" >"$work/out_h5.txt" ||
  fail "encode from --model"
same_json "$work/out_h5.txt" "$work/ids.txt" || fail "ids from the .h5 differ from the directory's"
"$build/encdec_tokenize" --model "$work/m.h5" --decode <"$work/ids.txt" >"$work/dec.txt" ||
  fail "decode"
same_json "$work/dec.txt" "$work/decoded.txt" || fail "decode(encode(text)) is not the text"

# A bad line is named, answered with null, and the status is 1; the good lines still come.
printf '[1, 2]\n[1, "x"]\n[99999999]\n' | "$build/encdec_tokenize" --model "$work/m.h5" --decode \
  >"$work/bad.out" 2>"$work/bad.err"
[ $? -eq 1 ] || fail "bad lines: exit status is not 1"
grep -q "line 2: holds something other than an integer id" "$work/bad.err" || fail "line 2 not named"
grep -q "line 3: ids\[0\] = 99999999 is outside the vocabulary" "$work/bad.err" || fail "line 3 not named"
[ "$(sed -n 2p "$work/bad.out")" = null ] || fail "bad line not answered with null"
"$build/encdec_tokenize" --hf "$work/nowhere" </dev/null 2>"$work/nf.err" && fail "missing dir accepted"
grep -q "no tokenizer files" "$work/nf.err" || fail "missing dir: $(cat "$work/nf.err")"
"$build/encdec_tokenize" --bogus 2>/dev/null; [ $? -eq 2 ] || fail "unknown flag: status not 2"
"$build/encdec_tokenize" --help | grep -q -- "--decode" || fail "--help"
"$build/encdec_tokenize" --version | grep -q "^encdec_tokenize " || fail "--version"

# Without tokenizer files: converts, serves ids, and says it has no tokenizer.
"$build/encdec_convert" --quiet --hf "$golden/fixtures/t5_v1_0_tied" --out "$work/ids_only.h5" ||
  fail "convert without tokenizer"
echo hi | "$build/encdec_tokenize" --model "$work/ids_only.h5" 2>"$work/none.err" && fail "no tokenizer accepted"
grep -q "converted without tokenizer files" "$work/none.err" || fail "no tokenizer: $(cat "$work/none.err")"

[ $failures -eq 0 ] && echo "test_tokenizer_cli: ok" || echo "test_tokenizer_cli: $failures failed"
exit $((failures > 0))

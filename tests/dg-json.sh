# deepgram-stream writes JSON Lines only: a message from Deepgram that is not exactly one
# valid JSON object (not UTF-8, raw NUL or control bytes, truncated, not an object,
# trailing data, lone surrogate escapes) is skipped with a counted one-line warning and
# counted in the summary; valid objects pass byte for byte (re-serialized only for a
# tab/CR/LF between tokens). Over the hostile corpus (tests/hostile/deepgram) and a few
# made here, every output line must be strict JSON (Python's json, UTF-8 strict, no NaN).
. "$TOP/tests/lib.sh"
export DEEPGRAM_API_KEY=k
sox -n -r 8000 -c 2 -e mu-law -t wav audio.wav trim 0 0.5
cat > strict <<'PY'
#!/usr/bin/python3
# strict FILE: "ok N" if every line is one strict JSON object in UTF-8, else the first bad one
import json, sys
def bad(x): raise ValueError(x)
n = 0
for i, line in enumerate(open(sys.argv[1], "rb").read().split(b"\n")[:-1]):
    try:
        v = json.loads(line.decode("utf-8"), parse_constant=bad)
        assert isinstance(v, dict), "not an object"
        assert "\0" not in line.decode("utf-8")
        n += 1
    except Exception as e:
        print("line %d NOT strict JSON: %r" % (i + 1, e)); sys.exit(0)
print("ok %d" % n)
PY
chmod +x strict
mkdir gen
printf '{"type":"Metadata","a":"\\ud800"}\n{"type":"Metadata","a":"\\udc00x"}\n{"type":"Metadata"} {}\n{"type":"Metadata","a":01}\n{"type":"Metadata","a":NaN}\n{"type":"Metadata","a":"\001"}\n{"type":"Metadata","a":"\t"}\n{"type":"Metadata",\t"a":\r1}\n{"type":"Metadata","ok":"\\ud83d\\ude00 \303\251"}\n' > gen/odd.jsonl

run() { # file: stand-in sends each line as a text frame
	rm -f port
	"$TOP/tests/hostile/dg-hostile.py" port "$1" &
	srv=$!
	waitfor 10 test -s port || echo "dg-hostile did not start"
	deepgram-stream -u "ws://127.0.0.1:$(cat port)/v1/listen" <audio.wav >dg.out 2>dg.err
	echo "? $?"
	wait $srv
}
for f in "$TOP"/tests/hostile/deepgram/*.jsonl gen/odd.jsonl; do
	case_ "$(basename "$f")"
	run "$f"
	echo "lines in $(wc -l < "$f"), out $(wc -l < dg.out): $(./strict dg.out)"
	sed -n 's/.*warning: ignoring a message from Deepgram: \(.*\) ([0-9]* bytes; .*/\1/p' dg.err | sort | uniq -c | sed 's/^ */ignored /'
	grep -o 'ignored messages [0-9]*' dg.err
	# every output line is one of the input lines, unchanged, or a compact rewrite
	/usr/bin/python3 -c '
import sys
inp = set(open(sys.argv[1], "rb").read().split(b"\n"))
out = open(sys.argv[2], "rb").read().split(b"\n")[:-1]
print("passed unchanged %d, rewritten %d" % (sum(l in inp for l in out), sum(l not in inp for l in out)))' "$f" dg.out
done
case_ "the rewritten line of odd.jsonl (tab and CR between tokens)"
grep -v '^{"type":"Metadata","ok"' dg.out

case_ "memory: a 20 MB message and a 1 MiB array of 500,000 values cost at most 4 MiB more than a small message"
{ printf '{"type":"Results","channel_index":[0,2],"start":1,"duration":1,"is_final":true,"channel":{"alternatives":[{"transcript":"'
  head -c 20971520 /dev/zero | tr '\0' a; printf '","words":[]}]}}\n'; } > gen/big.jsonl
/usr/bin/python3 -c 'print("{\"type\":\"Other\",\"x\":[" + ",".join(["0"] * 524260) + "]}")' > gen/array.jsonl
echo '{"type":"Metadata"}' > gen/small.jsonl
peak() { # file: peak RSS (KiB) of deepgram-stream receiving it
	rm -f port
	"$TOP/tests/hostile/dg-hostile.py" port "$1" &
	srv=$!
	waitfor 10 test -s port || echo "dg-hostile did not start"
	/usr/bin/time -f %M -o peak.txt deepgram-stream -u "ws://127.0.0.1:$(cat port)/v1/listen" <audio.wav >dg.out 2>dg.err
	wait $srv
	tail -n 1 peak.txt
}
base=$(peak gen/small.jsonl)
for f in big array; do
	k=$(peak gen/$f.jsonl)
	if [ "$k" -le $((base + 4096)) ]; then echo "$f: peak memory bounded"
	else echo "$f: peak memory NOT bounded: $k KiB, baseline $base KiB"; fi
	sed -n 's/.*warning: \(ignoring a message from Deepgram[^(]*\) (.*/\1/p' dg.err
done

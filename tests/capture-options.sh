# twilio-capture impairments: jitter, drops, a late outbound track, irregular chunk sizes;
# each seeded and reproducible.
. "$TOP/tests/lib.sh"
FIX=$TOP/tests/fixtures/capture
mk() { /usr/bin/python3 -c "import sys; sys.stdout.buffer.write(bytes(($2 + i * $3) % 256 for i in range($1)))"; }
# one line per media message: seq track chunk timestamp payload-bytes
summary() {
	jq -r 'select(.event == "media") |
	    [.sequenceNumber, .media.track, .media.chunk, .media.timestamp,
	     ((.media.payload | length) / 4 * 3 - (.media.payload | if endswith("==") then 2 elif endswith("=") then 1 else 0 end))]
	  | map(tostring) | join(" ")'
}
mk 1600 0 1 > a.raw   # 200 ms
mk 1600 9 5 > b.raw

case_ "no options: 10 chunks per track at 0, 20, ... 180 ms"
twilio-capture -r a.raw b.raw > plain.jsonl
summary < plain.jsonl | awk '{ print $2, $4 }' | xargs -n 10 echo

case_ "-j 2: timestamps within 2 ms of 20 ms steps, seeded; audio and order unchanged"
twilio-capture -r -j 2 -s 5 a.raw b.raw > j.jsonl; echo "? $?"
summary < j.jsonl | awk '{ print $2, $3, $4 }'
summary < j.jsonl | awk '{ d = $4 - ($3 - 1) * 20; if (d < -2 || d > 2) bad++ } END { print (bad ? "out of range" : "all within 2 ms") }'
for t in inbound outbound; do "$FIX/track-bytes" $t < j.jsonl | cmp -s - "$(test $t = inbound && echo a.raw || echo b.raw)" && echo "$t: same audio"; done
echo "jitter covers -2..2:"; summary < j.jsonl | awk '{ print $4 - ($3 - 1) * 20 }' | sort -n | uniq | paste -sd' '

case_ "-j clamps at 0: no negative timestamp"
twilio-capture -r -j 30 -s 3 a.raw | summary | awk '$4 < 0 { bad++ } NR == 1 { print "first", $4 } END { print bad + 0, "negative" }'

case_ "-D 3: every 3rd chunk of each track is dropped; chunk and sequence numbers stay contiguous"
twilio-capture -r -D 3 a.raw b.raw > d.jsonl; echo "? $?"
summary < d.jsonl | awk '{ print $1, $2, $3, $4 }' | xargs -n 8 echo
jq -r '.sequenceNumber // empty' d.jsonl | paste -sd' '

case_ "-d 30: about 30% dropped, seeded (different per track)"
twilio-capture -r -d 30 -s 11 a.raw b.raw | summary | awk '{ print $2, $4 }' | xargs -n 10 echo
echo "-d 0 drops nothing, -d 100 everything:"
twilio-capture -r -d 0 a.raw | summary | wc -l
twilio-capture -r -d 100 a.raw | jq -r .event | paste -sd' '

case_ "-l 50: outbound starts at 50 ms; messages stay in time order"
twilio-capture -r -u -l 50 a.raw b.raw > l.jsonl; echo "? $?"
summary < l.jsonl | awk '{ print $2, $4 }' | xargs -n 10 echo
"$FIX/track-bytes" outbound < l.jsonl | cmp - b.raw && echo outbound audio unchanged
echo "padded (no -u): inbound gets silence from 200 ms to the outbound's end, 250 ms:"
twilio-capture -r -l 50 a.raw b.raw > lp.jsonl
summary < lp.jsonl | awk '$2 == "inbound" && $4 >= 200 { print $4 ":" $5 }' | paste -sd' '
"$FIX/track-bytes" inbound < lp.jsonl > lp.in
head -c 1600 lp.in | cmp - a.raw && echo "inbound audio, then"
tail -c +1601 lp.in | od -An -tx1 -v | tr -s ' ' '\n' | grep . | sort | uniq -c | sed 's/^ *//'
echo "-l 7 (not a multiple of 20):"
twilio-capture -r -u -l 7 a.raw b.raw | summary | awk '{ print $2, $4 }' | head -n 4 | paste -sd' '

case_ "-z 80-320: irregular sizes within bounds, timestamps at byte offset / 8, no audio lost"
twilio-capture -r -z 80-320 -s 2 a.raw b.raw > z.jsonl; echo "? $?"
summary < z.jsonl | awk '{ print $2, $3, $4, $5 }'
summary < z.jsonl | awk '{ if ($2 in last && (last[$2] < 80 || last[$2] > 320)) bad++; last[$2] = $5
	if ($4 != int(off[$2] / 8)) ts++; off[$2] += $5 }
    END { print (bad ? "size out of range" : "sizes in range (but the last)"), (ts ? "timestamp off" : "timestamps = offset/8") }'
for t in inbound outbound; do "$FIX/track-bytes" $t < z.jsonl | cmp -s - "$(test $t = inbound && echo a.raw || echo b.raw)" && echo "$t: same audio"; done
echo "-z 100 (fixed):"
twilio-capture -r -z 100 a.raw | summary | awk '{ print $4 ":" $5 }' | paste -sd' '

case_ "all at once: reproducible with the same seed, different with another"
twilio-capture -r -u -j 2 -d 10 -D 7 -l 30 -z 80-320 -s 42 a.raw b.raw > s1.jsonl
twilio-capture -r -u -j 2 -d 10 -D 7 -l 30 -z 80-320 -s 42 a.raw b.raw > s2.jsonl
twilio-capture -r -u -j 2 -d 10 -D 7 -l 30 -z 80-320 -s 43 a.raw b.raw > s3.jsonl
cmp -s s1.jsonl s2.jsonl && echo "seed 42 twice: identical"
cmp -s s1.jsonl s3.jsonl || echo "seed 43: different"
hexsum s1.jsonl
echo "default seed is fixed too:"
twilio-capture -r -j 2 a.raw > u1.jsonl; twilio-capture -r -j 2 a.raw > u2.jsonl; cmp u1.jsonl u2.jsonl && echo identical

case_ "options are independent: adding jitter does not change which chunks drop"
twilio-capture -r -d 30 -s 11 a.raw b.raw | summary | awk '{ print $2, $3 }' > d1
twilio-capture -r -d 30 -j 5 -z 160 -s 11 a.raw b.raw | summary | awk '{ print $2, $3 }' > d2
cmp d1 d2 && echo same chunks kept

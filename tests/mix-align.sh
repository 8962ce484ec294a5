# twilio-mix: the alignment contract, byte for byte (raw output, small captures).
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/mix/lib.sh"

case_ "gaps: T=0, T=3 ms: 2 ms of 0xFF between"
cap <<'S' > c
start inbound
m inbound 0 8@01
m inbound 3 8@11
stop
S
mixhex -r < c

case_ "first chunk at 5 ms: padded from 0"
printf 'start inbound\nm inbound 5 8@a0\nstop\n' | cap | mixhex -r

case_ "jitter +-2 ms: 2 ms chunks at 0, 4 (+2), 4 (0), 4 (-2)"
cap <<'S' > c
start inbound
m inbound 0 16*01
m inbound 4 16*02
m inbound 4 16*03
m inbound 4 16*04
stop
S
mixhex -r < c

case_ "overlaps: T=0 and T=1 with 2 ms chunks: appended, nothing overwritten or dropped"
cap <<'S' > c
start inbound
m inbound 0 16@00
m inbound 1 16@80
m inbound 0 4*ee
stop
S
mixhex -r < c

case_ "late-starting outbound track: silence before it, interleaved inbound/outbound"
cap <<'S' > c
start inbound,outbound
m inbound 0 8@10
m inbound 1 8@18
m outbound 2 8@b0
m inbound 2 8@20
m inbound 3 8@28
stop
S
mixhex -r < c

case_ "single track (outbound only): one channel, WAV says 1 channel"
printf 'start outbound\nm outbound 0 4@40\nm outbound 1 4@50\nstop\n' | cap > c
mixhex -r < c
twilio-mix < c 2>/dev/null | od -An -tu2 -j22 -N2

case_ "irregular chunk sizes: 3+5 bytes at 0, 13 at 1 ms, 1 at 5 ms"
cap <<'S' > c
start inbound
m inbound 0 3@01
m inbound 0 5@04
m inbound 1 13@09
m inbound 5 1*77
m inbound 5 -
stop
S
mixhex -r < c

case_ "no stop: end of input flushes and pads the same way"
cap <<'S' > c
start inbound,outbound
m inbound 0 8@01
m outbound 0 3@f1
m inbound 1 2@09
S
mixhex -r < c
printf 'stop\n' | cap >> c
twilio-mix -r < c > out2 2>/dev/null
same out out2

case_ "random captures (jitter, drops, overlaps, irregular sizes, late start, no stop) vs an independent reference"
for seed in 1 2 3 4 5 6; do
	cap random $seed > c
	twilio-mix -r -l 0 -b 3600000 < c > out 2> err
	echo "seed $seed: ? $? $(ref < c > exp; same out exp)"
done

case_ "max-gap: -g 2 clamps a 1 s jump to 2 ms; the next chunk follows on"
cap <<'S' > c
start inbound
m inbound 0 8@01
m inbound 1000 8@11
m inbound 1001 8@21
stop
S
mixhex -r -g 2 < c
warns
ref -g 2 < c > exp; same out exp

case_ "max-gap default: a forged timestamp pads 60 s, not 31,000 years"
cap <<'S' > c
start inbound
m inbound 0 8@01
m inbound 999999999999999 8@11
m inbound 1000000000000000 8@21
stop
S
twilio-mix -r < c > out 2> err; echo "? $?"
wc -c < out
od -An -tx1 -j 480000 out
summ
case_ "max-gap two tracks: each track clamps on its own clock"
cap <<'S' > c
start inbound,outbound
m inbound 0 8*11
m outbound 0 8*22
m inbound 5000 8*33
m outbound 1 8*44
m inbound 5001 8*55
S
mixhex -r -g 1 -l 0 < c
ref -g 1 < c > exp; same out exp

case_ "max-lag 2 ms, frame 1 ms: silent outbound is filled; its late audio is dropped"
cap <<'S' > c
start inbound,outbound
m inbound 0 8*01
m inbound 1 8*02
m inbound 2 8*03
m inbound 3 8*04
m inbound 4 8*05
m inbound 5 8*06
m outbound 1 8*b1
m outbound 3 8*c1 8*c2
stop
S
mixhex -r -l 2 -f 1 < c
warns
case_ "max-lag 0: the same capture, nothing filled, nothing dropped"
mixhex -r -l 0 -f 1 < c
ref < c > exp; same out exp

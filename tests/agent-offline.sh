# twilio-mix -E and twilio-agent without a server. twilio-mix passes Twilio's mark, dtmf
# and stop lines to its command on the fd named by -E. twilio-agent relays a bot: the bot
# gets Deepgram's messages and Twilio's events; what it writes goes to stdout when it is
# a media, mark or clear message for this stream. The caller speaking (SpeechStarted, or an
# interim with words, on channel 0) while the bot's audio plays sends a clear at once and
# tells the bot; the bot's media is then dropped until it writes a mark (twilio-say does,
# when stopped) or a clear. Each step waits for the effect of the one before.
. "$TOP/tests/lib.sh"
S=MZ0123456789abcdef0123456789abcdef
C=CA0123456789abcdef0123456789abcdef

case_ "twilio-mix -E 3: mark, dtmf and stop as lines on the command's fd 3"
fake-capture -c "$C" -t inbound -s 0.1 > cap.jsonl
{
	head -n 4 cap.jsonl
	echo '{"event":"mark","sequenceNumber":"5","streamSid":"'"$S"'","mark":{"name":"greeting"}}'
	echo '{"event":"dtmf","sequenceNumber":"6","streamSid":"'"$S"'","dtmf":{"track":"inbound_track","digit":"5"}}'
	tail -n +5 cap.jsonl
} > ev.jsonl
twilio-mix -E 3 -- sh -c 'cat > /dev/null & cat <&3 | jq -c "[.event, .mark.name // .dtmf.digit // .stop.callSid]"
	echo "TWILIO_EVENTS_FD=$TWILIO_EVENTS_FD"; wait' < ev.jsonl 2> /dev/null
echo "? $?"
twilio-mix -E 2 -- true < /dev/null 2>&1; echo "? $?"

case_ "a command that never reads its events: lines dropped and counted, the audio flows"
{
	head -n 3 cap.jsonl
	for i in $(seq 1000); do
		echo '{"event":"mark","sequenceNumber":"5","streamSid":"'"$S"'","mark":{"name":"mark-'"$i"'-a-longer-name-to-fill-the-pipe-sooner"}}'
	done
	tail -n +4 cap.jsonl
} > many.jsonl
twilio-mix -E 3 -- sh -c 'exec wc -c' < many.jsonl 2> err
echo "? $?"
grep -c 'event not passed to the command: Resource temporarily unavailable' err
grep -o 'warning: [0-9]* event lines not passed' err | sed -E 's/[0-9]+ event/N event/'

media='{"event":"media","streamSid":"'"$S"'","media":{"payload":"//////////8="}}'
mark() { echo '{"event":"mark","streamSid":"'"$S"'","mark":{"name":"'"$1"'"}}'; }
dg() { # TYPE CHANNEL [is_final transcript]
	if [ "$1" = SpeechStarted ]; then echo '{"type":"SpeechStarted","channel":['"$2"',2],"timestamp":1.0}'
	else echo '{"type":"Results","channel_index":['"$2"',2],"is_final":'"$3"',"channel":{"alternatives":[{"transcript":"'"$4"'"}]}}'; fi
}
cat > bot.sh <<BOT
printf '%s\n' '$media' '$media' '$(mark m1)'
while IFS= read -r l; do
	printf '%s\n' "\$l" >> bot.log
	case \$l in
	*callpipe.bargein*) printf '%s\n' '$media' '$(mark m1-stopped)' '$media' ;;
	*'"name":"m1-stopped"'*) printf '%s\n' hello '{"event":"media","streamSid":"MZ2","media":{}}' '{"event":"dtmf","streamSid":"$S"}' ;;
	esac
done
echo "bot: end of input" >> bot.log
BOT
lines() { [ "$(wc -l < "$1" 2>/dev/null)" -ge "$2" ]; }
events() { jq -r '.event + (if .mark then " " + .mark.name else "" end)' out; }

case_ "no clear before the bot speaks, for the callee, for empty interims or for finals"
mkfifo dgin evin
TWILIO_STREAM_SID=$S twilio-agent -e 3 sh bot.sh < dgin 3< evin > out 2> err &
AP=$!
exec 5> dgin 6> evin
waitfor 10 lines out 3 && events
dg Results 1 false "callee talking" >&5
dg SpeechStarted 1 >&5
dg Results 0 false "" >&5
dg Results 0 true "a final" >&5
waitfor 10 lines bot.log 4 && jq -r '.type + " " + (.channel_index // .channel | tostring)' bot.log
events | grep -c clear

case_ "the caller speaks over the bot: a clear at once, then the bot is told"
dg SpeechStarted 0 >&5
waitfor 10 lines bot.log 6 && tail -n 2 bot.log | jq -c '[.type, .trigger, .mark]'
# the bot's next media is dropped; its mark and later media go through
waitfor 10 lines out 6 && events | tail -n +4

case_ "Twilio's mark echo reaches the bot; an interim with words is a barge-in too"
mark m1-stopped >&6
waitfor 10 lines bot.log 7 && tail -n 1 bot.log | jq -c '[.event, .mark.name]'
dg Results 0 false "wait" >&5
waitfor 10 lines bot.log 9 && tail -n 2 bot.log | jq -c '[.type, .trigger, .mark]'
waitfor 10 lines out 9 && events | tail -n +7

case_ "end of input: the bot sees EOF and exits; lines it wrote that are not for Twilio were skipped"
exec 5>&- 6>&-
wait $AP; echo "twilio-agent exit $?"
tail -n 1 bot.log
grep -c '"event":"clear"' out
grep 'warning: bot line skipped' err
sed -n 's/^twilio-agent: info: the bot exited/the bot exited/p' err

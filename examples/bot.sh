#!/bin/sh
# bot.sh: a voice bot in shell, for callpipe's bot calls (pipeline.sh with
# CALLPIPE_BOT=/path/to/examples/bot.sh; /twiml sends the call to /agent).
# stdin, one JSON message a line (twilio-agent(1)):
#   Deepgram's messages: the finals carry what the caller said;
#   Twilio's mark echoes, {"event":"mark",...,"mark":{"name":N}}: utterance N was heard;
#   {"type":"callpipe.bargein",...}: the caller spoke over us; Twilio was told to clear.
# stdout: what Twilio plays, from twilio-say (TWILIO_STREAM_SID is in the environment).
# Any program can answer: BOT_REPLY='llm -s "Answer phone calls in one sentence"' (a
# language model's command-line client) or BOT_REPLY=./answer.sh gets each final that no
# keyword matched on its stdin, and its first 1000 bytes of output are spoken.
# Exiting ends the stream: Twilio then runs the TwiML after <Connect>, and with none, hangs
# up. So on "bye" we say goodbye, wait until Twilio says it was played, then exit.
pid= bye=

hush() { # stop the utterance in progress (twilio-say still writes its mark)
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

say() { # NAME TEXT: speak TEXT in the background; Twilio echoes mark NAME once played
	hush
	twilio-say -m "$1" -t "$2" &
	pid=$!
}

answer() { # TEXT: what the caller said, in lower case
	case $1 in
	*bye*) bye=1 && say goodbye "Thank you for calling. Goodbye." ;;
	*hours*) say hours "We are open from nine to five, Monday to Friday." ;;
	*agent*) say agent "All our agents are busy. Please call again later." ;;
	*) [ -n "${BOT_REPLY:-}" ] || return 0
		reply=$(printf '%s\n' "$1" | sh -c "$BOT_REPLY" | head -c 1000 | tr '\n' ' ')
		[ -n "$reply" ] && say reply "$reply" ;;
	esac
}

say greeting "Hello, thanks for calling. Ask about our hours, or for an agent."
while IFS= read -r line; do
	case $line in
	*'"type":"callpipe.bargein"'*)
		hush ;;
	*'"event":"mark"'*'"name":"goodbye"'*)
		[ -n "$bye" ] && break ;;
	*'"type":"Results"'*'"is_final":true'*)
		text=$(printf '%s\n' "$line" | jq -r 'select(.channel_index[0] == 0) |
			.channel.alternatives[0].transcript // empty' | tr 'A-Z' 'a-z')
		[ -n "$text" ] && answer "$text" ;;
	esac
done
hush
exit 0

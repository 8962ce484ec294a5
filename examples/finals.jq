# finals.jq: only the final transcripts of a call, one line each, with speaker labels
# (channel 0 is the caller, Twilio's inbound track; channel 1 the callee, outbound).
#   jq -r -f examples/finals.jq "$CALLPIPE_DIR"/calls/CA.../log.jsonl
#   subscribe CA... | jq --unbuffered -r -f examples/finals.jq
# Prints e.g. "  3.2 caller: I'd like to book a table for two." (seconds into the call).
select(.type == "Results" and .is_final == true)
| (.channel.alternatives[0].transcript // "") as $text
| select($text != "")
| ((.channel_index // [0])[0]) as $ch
| (if $ch == 0 then "caller" elif $ch == 1 then "callee" else "channel \($ch)" end) as $who
| ((.start // 0) * 10 | round / 10 | tostring | if test("\\.") then . else . + ".0" end) as $t
| "\(" " * ([5 - ($t | length), 0] | max))\($t) \($who): \($text)"

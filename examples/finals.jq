# finals.jq: only the final transcripts of a call, one line each, with speaker labels
# (the inbound track is the caller, the outbound track the callee: callpipe.tracks maps
# each channel to its track; offset places each stream on the call's timeline).
#   jq -r -f examples/finals.jq "$CALLPIPE_DIR"/calls/CA.../streams/*/log.jsonl
#   subscribe CA... | jq --unbuffered -r -f examples/finals.jq
# Prints e.g. "  3.2 caller: I'd like to book a table for two." (seconds into the call).
select(.type == "Results" and .is_final == true)
| (.channel.alternatives[0].transcript // "") as $text
| select($text != "")
| ((.channel_index // [0])[0]) as $ch
| ((.callpipe.tracks // ["inbound", "outbound"])[$ch] // "") as $track
| (if $track == "inbound" then "caller" elif $track == "outbound" then "callee" else "channel \($ch)" end) as $who
| (((.start // 0) + (.callpipe.offset // 0)) * 10 | round / 10 | tostring | if test("\\.") then . else . + ".0" end) as $t
| "\(" " * ([5 - ($t | length), 0] | max))\($t) \($who): \($text)"

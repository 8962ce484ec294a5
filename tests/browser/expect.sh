# tests/browser/expect.sh: sourced by the browser tests after server-lib.sh.
# finals FILE [INLABEL OUTLABEL]: a call's Deepgram messages (one JSON a line) as the page
# must show them: "[mm:ss] speaker: text" per non-empty final, time from the call's start
finals() {
	jq -r --arg in "${2:-caller}" --arg out "${3:-callee}" '
		def two: tostring | if length < 2 then "0" + . else . end;
		select(.type == "Results" and .is_final and
		    ((.channel.alternatives[0].transcript // "") | length > 0)) |
		((.start + (.callpipe.offset // 0)) | floor) as $t |
		((.callpipe.tracks // ["inbound", "outbound"])[.channel_index[0]]) as $track |
		"[\($t / 60 | floor | two):\($t % 60 | two)] " +
		"\(if $track == "inbound" then $in elif $track == "outbound" then $out else $track end): " +
		.channel.alternatives[0].transcript' "$1"
}

# jsonl_lines FILE: the page's JSON Lines download ({call_sid, time (seconds from the
# call's start), speaker, track, text, stream_sid, channel, utterance_end}) in that form
jsonl_lines() {
	jq -r 'def two: tostring | if length < 2 then "0" + . else . end;
		(.time | floor) as $t | "[\($t / 60 | floor | two):\($t % 60 | two)] \(.speaker): \(.text)"' "$1"
}

# shots: where screenshots go (a test artifact, not committed)
SHOTS=$TOP/build/screens/$VARIANT
mkdir -p "$SHOTS"
export SHOTS

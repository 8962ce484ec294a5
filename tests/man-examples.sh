# The EXAMPLES of twilio-capture(1) and twilio-verify(1) run as written (the literal
# blocks, in order, with set -e; twilio-verify's shell prompts and shown output taken
# out and compared). twilio-replay(1)'s need a server on port 5000: server-replay and
# replay-tls run the same commands on ports of their own.
. "$TOP/tests/lib.sh"
# blocks PAGE: the literal blocks of PAGE's EXAMPLES section, as shell text
blocks() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh /p' "$TOP/man/$1" |
		awk '/^\.Bd -literal/ { on = 1; next } /^\.Ed/ { on = 0; next } on' |
		sed 's/\\e/\\/g; s/\\&//g'
}

case_ "twilio-capture(1) EXAMPLES"
blocks twilio-capture.1 > capture.sh
cat capture.sh
mkdir c
(cd c && sh -e ../capture.sh > ../c.out 2> ../c.err); echo "? $?"
grep -E '^(Channels|Sample Rate)' c.out
grep -cE '^(inbound|outbound) [0-9]+$' c.out

case_ "twilio-verify(1) EXAMPLES: the first block prints what it shows"
blocks twilio-verify.1 | sed -n '1,/^valid$/p' > verify.txt
grep -v '^valid$' verify.txt | sed 's/^\$ //' > verify.sh
grep '^valid$' verify.txt > want
env -u CALLPIPE_PUBLIC_URL -u REQUEST_URI sh -e verify.sh > got 2> verify.err; echo "? $?"
cmp -s want got && echo "prints: $(cat got)"

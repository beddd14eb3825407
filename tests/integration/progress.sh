#!/usr/bin/env bash
# The progress lines on a real terminal (tmux), and nothing of them in pipes.
# order-producer (lines read, sent, confirmed), order-audit (partitions and
# offsets replayed of the total) and order-results --summary (results read
# of the window) each run with stderr on a 200x50 tmux pane; the pane's last
# line must carry the input's size, and what the terminal received shows
# several updates, throttled. Piped (stdout and stderr to files), the
# default run writes exactly what --no-progress writes, stdout byte for
# byte and stderr but for times and rates, and no carriage return at all;
# --progress forces the line into a pipe; stdout is the same in every run,
# the terminal's included.
source "$(dirname "$0")/lib.sh"
IT_PARTITIONS=4
it_setup progress
command -v tmux >/dev/null || die "tmux is not installed (scripts/setup)"
N=40000
RATE=16000 # the producer's run lasts N/RATE s: long enough for several updates

TMUX_SOCK=orderline-it-$$
tmx() { tmux -L "$TMUX_SOCK" "$@"; }
progress_cleanup() {
    local rc=$?
    tmx kill-server 2>/dev/null || true
    (exit $rc)
    it_cleanup
}
trap progress_cleanup EXIT

# on_tty NAME CMD...: runs CMD with stderr on a fresh 200x50 tmux terminal
# and stdout to NAME.tty.out, waits for it (120 s at most), and leaves its
# exit status in NAME.rc, the pane as shown at the end in NAME.pane and
# every byte the terminal received in NAME.raw.
on_tty() {
    local name=$1 i; shift
    {
        echo "while [ ! -e '$IT_LOGDIR/$name.go' ]; do sleep 0.05; done"
        printf '%q ' "$@"
        echo ">'$IT_LOGDIR/$name.tty.out'; echo \$? >'$IT_LOGDIR/$name.rc'; exec sleep 600"
    } >"$IT_LOGDIR/$name.sh"
    tmx new-session -d -s "$name" -x 200 -y 50 "bash '$IT_LOGDIR/$name.sh'"
    tmx pipe-pane -t "$name" -o "cat >>'$IT_LOGDIR/$name.raw'"
    touch "$IT_LOGDIR/$name.go"
    for ((i = 0; i < 1200; i++)); do
        [ -s "$IT_LOGDIR/$name.rc" ] && break
        sleep 0.1
    done
    [ -s "$IT_LOGDIR/$name.rc" ] || die "$name did not finish on the terminal within 120 s"
    sleep 0.3 # tmux draws what is left
    tmx capture-pane -p -t "$name" >"$IT_LOGDIR/$name.pane"
    tmx kill-session -t "$name"
    log "$name on the terminal: exit $(cat "$IT_LOGDIR/$name.rc"), $(grep -c . "$IT_LOGDIR/$name.pane") lines shown"
}

# updates NAME PATTERN: how many times the terminal got a progress line
# (a carriage return, then PATTERN).
updates() { tr '\r' '\n' <"$IT_LOGDIR/$1.raw" | grep -c -- "$2" || true; }

# piped NAME CMD...: three runs with stdout and stderr to files: as is,
# --no-progress and --progress (NAME.{plain,off,on}.{out,err}); each must
# exit with the status in NAME.rc (the terminal's run).
piped() {
    local name=$1 want rc v; shift
    want=$(cat "$IT_LOGDIR/$name.rc")
    for v in plain off on; do
        local flag=()
        [ $v = off ] && flag=(--no-progress)
        [ $v = on ] && flag=(--progress)
        rc=0
        "$@" "${flag[@]}" >"$IT_LOGDIR/$name.$v.out" 2>"$IT_LOGDIR/$name.$v.err" </dev/null || rc=$?
        [ "$rc" = "$want" ] || die "$name piped ($v) exited $rc, on the terminal $want"
    done
}

# pipes_unchanged NAME PATTERN: the piped runs agree (see the top).
pipes_unchanged() {
    local name=$1 pattern=$2 f v
    f=$IT_LOGDIR/$name
    for v in off on; do cmp -s "$f.plain.out" "$f.$v.out" || die "$name: stdout differs with $v"; done
    cmp -s "$f.plain.out" "$f.tty.out" || die "$name: stdout differs on the terminal"
    mask() { sed -E 's/[0-9]+(\.[0-9]+)?/N/g' "$1"; }
    [ "$(mask "$f.plain.err")" = "$(mask "$f.off.err")" ] || die "$name: stderr piped differs from --no-progress"
    if grep -q $'\r' "$f.plain.err" "$f.plain.out"; then die "$name: a carriage return in piped output"; fi
    grep -q -- "$pattern" "$f.plain.err" && die "$name: a progress line in a pipe"
    grep -q -- "$pattern" "$f.on.err" || die "$name: --progress showed no line in a pipe"
    if grep -q $'\r' "$f.on.err"; then :; else die "$name: --progress wrote no carriage return"; fi
    if grep -q -- "$pattern" "$f.tty.out"; then die "$name: a progress line on stdout"; fi
    log "$name: piped output the same with and without --no-progress ($(wc -c <"$f.plain.out") bytes of stdout)"
}

# ---- order-producer: N orders, paced
"$BUILD/order-producer" --generate $N --items 200 --seed 9 --restock-pct 30 >"$IT_LOGDIR/orders.jsonl"
PRODUCE=("$BUILD/order-producer" --orders-topic "$IT_ORDERS" --partitions 4 --rate $RATE)
on_tty producer "${PRODUCE[@]}" "$IT_LOGDIR/orders.jsonl"
[ "$(cat "$IT_LOGDIR/producer.rc")" = 0 ] || die "the producer failed on the terminal"
grep -q "order-producer: $N lines read, $N sent: $N confirmed" "$IT_LOGDIR/producer.pane" ||
    die "the pane does not show $N lines read, sent and confirmed: $(grep order-producer "$IT_LOGDIR/producer.pane")"
seen=$(updates producer 'order-producer: [0-9]* lines read')
secs=$(((N + RATE - 1) / RATE))
log "producer: $seen progress updates in about $secs s"
[ "$seen" -ge 3 ] || die "only $seen progress updates in a $secs s run"
[ "$seen" -le $((secs * 4 + 20)) ] || die "$seen progress updates in a $secs s run: not throttled"
# Piped, to a topic of its own, so the orders topic holds the N orders once.
SCRATCH=("$BUILD/order-producer" --orders-topic "$IT_ORDERS.scratch" --partitions 1)
head -n 2000 "$IT_LOGDIR/orders.jsonl" >"$IT_LOGDIR/some.jsonl"
echo '{"order_id":"bad","item":"x","quantity":0}' >>"$IT_LOGDIR/some.jsonl"
"${SCRATCH[@]}" </dev/null 2>/dev/null || die "creating the scratch topic failed"
on_tty scratch "${SCRATCH[@]}" "$IT_LOGDIR/some.jsonl"
piped scratch "${SCRATCH[@]}" "$IT_LOGDIR/some.jsonl"
pipes_unchanged scratch 'lines read'
grep -q "order-producer: 2001 lines read, 2000 sent: 2000 confirmed" "$IT_LOGDIR/scratch.on.err" ||
    die "--progress: no final line with 2001 lines read, 2000 sent and confirmed"

# ---- order-audit over the N decided orders
consume_until_idle 2
[ "$(sql "SELECT count(*) FROM orders")" = "$(grep -o '"order_id":"[^"]*"' "$IT_LOGDIR/orders.jsonl" | sort -u | wc -l)" ] ||
    die "the consumer did not decide every order"
AUDIT=("$BUILD/order-audit" --db "$IT_DB" --orders-topic "$IT_ORDERS" --results-topic "$IT_RESULTS")
on_tty audit "${AUDIT[@]}"
[ "$(cat "$IT_LOGDIR/audit.rc")" = 0 ] || die "order-audit found divergences or failed: $(cat "$IT_LOGDIR/audit.pane")"
grep -q "order-audit: partition 4 of 4: $N of $N offsets replayed (100%)" "$IT_LOGDIR/audit.pane" ||
    die "the pane does not show $N of $N offsets replayed: $(grep order-audit "$IT_LOGDIR/audit.pane")"
[ "$(updates audit 'order-audit: partition')" -ge 1 ] || die "order-audit: no progress line on the terminal"
piped audit "${AUDIT[@]}"
pipes_unchanged audit 'offsets replayed'

# ---- order-results --summary over the N answers
SUMMARY=("$BUILD/order-results" --results-topic "$IT_RESULTS" --summary --format json)
on_tty results "${SUMMARY[@]}"
[ "$(cat "$IT_LOGDIR/results.rc")" = 0 ] || die "order-results --summary failed"
[ "$(jq -r .results "$IT_LOGDIR/results.tty.out")" = $N ] || die "the summary does not count $N results"
grep -q "order-results: $N of $N results read (100%)" "$IT_LOGDIR/results.pane" ||
    die "the pane does not show $N of $N results read: $(grep order-results "$IT_LOGDIR/results.pane")"
piped results "${SUMMARY[@]}"
pipes_unchanged results 'results read'
log "progress on the terminal, none in pipes"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside the booted container (sluice-selftest.service; systemd is PID 1): installs the
# packages from /sluice-test/debs with apt, sets a control plane and a device up the way
# docs/provisioning.md, docs/ceremony.md, docs/controlplane.md and debian/README.Debian tell
# an operator to, starts, inspects, reloads and stops sluice-controlplane.service and
# sluice-agent.service, and purges the packages. Writes /sluice-test/out/report (checks and
# captured output) and /sluice-test/out/result (PASS, or FAIL and the failed checks); the
# unit powers the container off when this script ends.
set -uo pipefail

T=/sluice-test
OUT=$T/out
W=/srv/sluice-selftest
CP_STATE=/var/lib/sluice-controlplane
AGENT_ID=/var/lib/sluice-agent/identity
CP_URL=https://localhost:8443
PASS=selftest-passphrase
UNITS=(sluice-agent.service sluice-controlplane.service)
exec >>"$OUT/report" 2>&1

n=0
failed=()
t0=$(date +%s.%N)
check() { # check WHAT COMMAND...: one numbered check
	local what=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		failed+=("$what")
	fi
}
finish() {
	section "end: $n checks, ${#failed[@]} failed"
	if [ "${#failed[@]}" -eq 0 ]; then
		echo PASS >"$OUT/result.tmp"
	else
		{ echo FAIL; printf '%s\n' "${failed[@]}"; } >"$OUT/result.tmp"
	fi
	mv "$OUT/result.tmp" "$OUT/result"
	sync
	exit 0
}
need() { # need WHAT COMMAND...: a check the later steps depend on; stop when it fails
	local before=${#failed[@]}
	check "$@"
	if [ "${#failed[@]}" -ne "$before" ]; then
		echo "(stopping: later steps depend on this one)"
		journal_tail
		finish
	fi
}
run() { # run COMMAND...: show it, run it, indent its output
	echo "\$ $*"
	"$@" 2>&1 | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}
timed() { # timed WHAT COMMAND...: run it and say how long it took
	local w=$1 a b r=0
	shift
	a=$(date +%s.%N)
	"$@" || r=$?
	b=$(date +%s.%N)
	awk -v w="$w" -v a="$a" -v b="$b" 'BEGIN { printf "(%s took %.2f s)\n", w, b - a }'
	return $r
}
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
section() { echo; echo "### $* (t=$(elapsed) s)"; }
# props UNIT PROPERTY...: the values joined by '/', e.g. "active/running".
props() {
	local u=$1 p out=""
	shift
	for p in "$@"; do out+=${out:+/}$(systemctl show -p "$p" --value "$u"); done
	echo "$out"
}
is() { # is UNIT "PROPERTY..." EXPECTED
	local got
	# shellcheck disable=SC2086
	got=$(props "$1" $2)
	[ "$got" = "$3" ] || { echo "    $1: $2 = $got, expected $3"; return 1; }
}
show_unit() {
	run systemctl show -p ActiveState,SubState,Result,NRestarts,StatusText,MainPID \
		-p ExecMainStatus,ConditionResult,WatchdogUSec,UnitFileState "$1"
}
journal_tail() {
	run journalctl --no-pager -o short-monotonic -n 40 -u "${UNITS[0]}" -u "${UNITS[1]}"
}
wait_for() { # wait_for SECONDS COMMAND...: poll every 0.2 s until COMMAND succeeds
	local end=$(($(date +%s) + $1))
	shift
	while ! "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
agent_idle() { case "$(props sluice-agent.service StatusText)" in idle*) ;; *) return 1 ;; esac; }
proc_status() {
	grep -E '^(Uid|NoNewPrivs|Seccomp|CapEff|CapBnd):' "/proc/$1/status" | sed 's/^/    /'
}
in_journal() { journalctl -b -u "$1" --no-pager | grep -qF -- "$2"; } # in_journal UNIT TEXT
not() { ! "$@"; }
nnp_seccomp() { grep -qzE 'NoNewPrivs:[[:space:]]+1.*Seccomp:[[:space:]]+2' "/proc/$1/status"; }
# The operator runs the control plane's CLI as the service's user (debian/README.Debian).
cpctl() { runuser -u sluice-cp -- sluice-controlplane "$@"; }
pv() { echo "$PASS" | sluice-provision "$@" --dir "$W/pki" --passphrase-fd 0; }
ceremony_pw() { # ceremony_pw PASSPHRASE ARGS...
	local pw=$1
	shift
	echo "$pw" | sluice-ceremony "$@" --passphrase-fd 0
}
metrics() { # GET /metrics from the plain-HTTP loopback listener
	exec 3<>/dev/tcp/127.0.0.1/9690 || return 1
	printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
	timeout 5 cat <&3
	exec 3<&-
}
metrics_ok() { metrics >"$W/metrics.txt" && head -n 1 "$W/metrics.txt" | grep -q ' 200 '; }
tuf() { sluice-tuf --metadata-dir "$W/tuf" --metadata-url "$CP_URL/tuf/metadata/" "$@"; }
exposure() { sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' "$W/security-$1.txt"; }
at_most() { awk -v e="$1" -v m="$2" 'BEGIN { exit !(e != "" && e + 0 <= m + 0) }'; }

section "boot"
state=$(timeout 120 systemctl is-system-running --wait 2>&1)
echo "is-system-running: $state"
run systemctl --no-pager --failed
check "the container booted with systemd as PID 1" \
	test "$(cat /proc/1/comm)" = systemd -a -d /run/systemd/system
check "no unit failed during boot (is-system-running: $state)" test "$state" = running
run systemd-detect-virt
run sh -c 'grep -E "^(0|1):" /proc/self/cgroup; stat -fc %T /sys/fs/cgroup'

section "install: apt-get install /sluice-test/debs/*.deb"
export DEBIAN_FRONTEND=noninteractive
need "apt-get installs the four packages (no network in the container)" \
	run apt-get install -y -o Dpkg::Use-Pty=0 $T/debs/*.deb
for p in sluice-agent sluice-controlplane sluice-ceremony sluice-tuf; do
	check "$p is installed" \
		test "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed"
done
for u in "${UNITS[@]}"; do
	show_unit "$u"
	check "$u enabled by its postinst" test "$(systemctl is-enabled "$u")" = enabled
	# The postinst started the unit; without its state the condition skipped the start.
	check "$u: the start at install skipped by its condition (not configured yet)" \
		is "$u" "ActiveState ConditionResult" inactive/no
done
run systemctl --no-pager status sluice-controlplane.service
run getent passwd sluice-cp
run ls -ld $CP_STATE
check "the package made the system user sluice-cp and its empty 0700 state directory" \
	test "$(stat -c '%U %a' $CP_STATE 2>/dev/null)" = "sluice-cp 700"

section "provisioning station, key ceremony, control plane state (docs/*.md)"
mkdir -p "$W/ceremony"
cd "$W/ceremony" || finish
need "sluice-provision ca init" run pv ca init --kdf interactive --name selftest
need "sluice-controlplane init (as sluice-cp)" run cpctl init --dir $CP_STATE
need "sluice-provision server-cert" \
	run pv server-cert --dns localhost --ip 127.0.0.1 --out "$W/transfer-tls"
need "the TLS files copied into $CP_STATE/tls for sluice-cp" run sh -c "
	cp -p $W/transfer-tls/* $CP_STATE/tls/ && chown sluice-cp:sluice-cp $CP_STATE/tls/* &&
	ls -l $CP_STATE/tls"
for k in root-a:root root-b:root root-c:root targets-d:targets; do
	name=${k%%:*}
	need "sluice-ceremony keygen $name" run ceremony_pw "pw-$name" keygen --role "${k#*:}" \
		--out "$name.key" --kdf interactive --allow-network
	need "sluice-ceremony pubkey $name" run sluice-ceremony pubkey "$name.key" --out "$name.pub"
done
need "sluice-ceremony root init" run sluice-ceremony root init --root-key root-a.pub \
	--root-key root-b.pub --root-key root-c.pub --targets-key targets-d.pub \
	--online-keys $CP_STATE/online-keys.json --root-threshold 2 --targets-threshold 1 \
	--expires-days 365 --out 1.root.json
for k in root-a root-c; do
	need "sluice-ceremony sign 1.root.json with $k" \
		run ceremony_pw "pw-$k" sign 1.root.json --key "$k.key"
done
need "root-import (as sluice-cp)" run cpctl root-import --dir $CP_STATE "$W/ceremony/1.root.json"
mkdir rel
echo "hello from the systemd test" >rel/hello.txt
cat >rel/release.json <<'EOF'
{"sluice_manifest": 1, "release": "2026.1.0",
 "artifacts": [{"file": "hello.txt", "target": "files/hello.txt", "kind": "file"}]}
EOF
need "sluice-ceremony release" run ceremony_pw pw-targets-d release \
	--manifest rel/release.json --root 1.root.json --key targets-d.key --out bundle
# The bundle is private to the ceremony's user (0700): carried over as an operator would.
need "the bundle copied for sluice-cp" run sh -c "cp -r $W/ceremony/bundle $W/transfer-bundle &&
	chown -R sluice-cp:sluice-cp $W/transfer-bundle"
need "publish (as sluice-cp)" run cpctl publish --dir $CP_STATE "$W/transfer-bundle"
cd "$W" || finish
need "sluice-provision device (the medium of selftest-dev)" run pv device --id selftest-dev \
	--hardware board-a --controlplane "$CP_URL" --root "$W/ceremony/1.root.json" \
	--out "$W/media"
need "sluice-provision export" run sluice-provision export --dir "$W/pki" --out "$W/approve.jsonl"
need "devices approve --from the export (as sluice-cp)" \
	run cpctl devices --dir $CP_STATE approve --from "$W/approve.jsonl"

section "sluice-controlplane.service"
need "systemctl start sluice-controlplane.service" \
	timed start run timeout 90 systemctl start sluice-controlplane.service
show_unit sluice-controlplane.service
check "sluice-controlplane.service is active (running) after READY=1" \
	is sluice-controlplane.service "ActiveState SubState StatusText" active/running/serving
cp_pid=$(props sluice-controlplane.service MainPID)
run ls -ld $CP_STATE
proc_status "$cp_pid"
check "the control plane runs as sluice-cp" \
	test "$(awk '/^Uid:/ { print $2 }' "/proc/$cp_pid/status")" = "$(id -u sluice-cp)"
check "the control plane: NoNewPrivs and a seccomp filter" nnp_seccomp "$cp_pid"
check "the control plane: no capabilities" grep -qE '^CapEff:[[:space:]]+0+$' "/proc/$cp_pid/status"
check "the control plane: /usr is read-only in its mount namespace (ProtectSystem=strict)" \
	nsenter -t "$cp_pid" -m sh -c '! touch /usr/.sluice-probe 2>/dev/null'
check "the metrics listener answers on 127.0.0.1:9690" \
	metrics_ok
grep -E '^sluice_cp_(repo_generation|connections)' "$W/metrics.txt" | sed 's/^/    /'

section "device: agent.conf, sluice-agent provision (docs/provisioning.md, docs/agent.md)"
install -d -m 0700 /var/lib/sluice-agent /var/lib/sluice-agent/slots
mkdir -p /var/lib/sluice-models
truncate -s 2M /var/lib/sluice-agent/slots/a /var/lib/sluice-agent/slots/b
cat >/etc/sluice/agent.conf <<'EOF'
# The systemd test's device: file-backed A/B slots and the `file` bootloader state.
[agent]
state_dir = /var/lib/sluice-agent
airgap = true
[slot.rootfs]
a = /var/lib/sluice-agent/slots/a
b = /var/lib/sluice-agent/slots/b
bootloader = file
bootloader_state = /var/lib/sluice-agent/bootenv
[models]
dir = /var/lib/sluice-models
EOF
need "sluice-agent provision the medium" run sluice-agent provision "$W/media"
run sluice-agent status

section "the control plane answers over mTLS (sluice-tuf with the device's identity)"
mkdir -p "$W/tuf" "$W/dl"
need "sluice-tuf init with the root the agent pinned" \
	run sluice-tuf --metadata-dir "$W/tuf" init /var/lib/sluice-agent/tuf/root.json
check "sluice-tuf: download files/hello.txt from $CP_URL (mTLS)" \
	run tuf --ca-file $AGENT_ID/ca.pem --cert $AGENT_ID/device.crt --key $AGENT_ID/device.key \
	--target-name files/hello.txt --target-base-url $CP_URL/tuf/targets/ \
	--target-dir "$W/dl" download
check "the downloaded file is the published one" \
	grep -q 'hello from the systemd test' "$W/dl/files%2Fhello.txt"
check "sluice-tuf without a client certificate is refused" \
	not run tuf --ca-file $AGENT_ID/ca.pem refresh

section "sluice-agent.service"
need "systemctl start sluice-agent.service (returns after READY=1)" \
	timed start run timeout 90 systemctl start sluice-agent.service
show_unit sluice-agent.service
check "sluice-agent.service is active (running)" \
	is sluice-agent.service "ActiveState SubState" active/running
check "the agent checked in over mTLS (StatusText 'idle; next check-in ...')" \
	wait_for 30 agent_idle
show_unit sluice-agent.service
ag_pid=$(props sluice-agent.service MainPID)
proc_status "$ag_pid"
check "the agent: NoNewPrivs and a seccomp filter" nnp_seccomp "$ag_pid"
check "the agent: /usr read-only, /root empty in its mount namespace (ProtectHome=yes)" \
	nsenter -t "$ag_pid" -m sh -c '! touch /usr/.sluice-probe 2>/dev/null &&
		! ls -A /root 2>/dev/null | grep -q .'
check "the agent: its journal says the watchdog is on" in_journal sluice-agent.service "watchdog on"
run journalctl --no-pager -o cat -u sluice-agent.service
check "the control plane recorded the check-in of selftest-dev" sh -c "
	runuser -u sluice-cp -- sluice-controlplane devices --dir $CP_STATE --json \
		show selftest-dev >$W/device.json && grep -qE '\"last_seen\": ?\"' $W/device.json"
sed 's/^/    /' "$W/device.json"

section "watchdog, reload"
wd0=$(props sluice-controlplane.service WatchdogTimestampMonotonic)
check "the control plane pings the watchdog (WatchdogTimestamp moves within 20 s; 30 s limit)" \
	wait_for 20 sh -c "[ \"\$(systemctl show -p WatchdogTimestampMonotonic --value \
		sluice-controlplane.service)\" != '$wd0' ]"
need "systemctl reload sluice-controlplane.service (SIGHUP)" \
	run timeout 30 systemctl reload sluice-controlplane.service
check "the control plane: still active (running), same PID, no restart after the reload" \
	is sluice-controlplane.service "ActiveState MainPID NRestarts" "active/$cp_pid/0"
check "the agent: still active (running), no restart" \
	is sluice-agent.service "ActiveState SubState NRestarts" active/running/0

section "systemd-analyze security"
for u in sluice-agent sluice-controlplane; do
	systemd-analyze security --no-pager $u.service >"$W/security-$u.txt" 2>&1
done
run systemd-analyze security --no-pager "${UNITS[@]}"
# Exposure from 0 (best) to 10; systemd calls up to 4.9 OK. The control plane holds only
# its state directory and listeners; the agent needs root and a few capabilities for slots.
check "the control plane's exposure is at most 2.0 ($(exposure sluice-controlplane))" \
	at_most "$(exposure sluice-controlplane)" 2.0
check "the agent's exposure is at most 3.0 ($(exposure sluice-agent))" \
	at_most "$(exposure sluice-agent)" 3.0

section "systemctl stop"
for u in "${UNITS[@]}"; do
	check "systemctl stop $u" timed stop run timeout 120 systemctl stop "$u"
	show_unit "$u"
	check "$u stopped cleanly (inactive/dead, Result=success, exit status 0)" \
		is "$u" "ActiveState SubState Result ExecMainStatus" inactive/dead/success/0
done
journal_tail
check "the agent logged its SIGTERM stop" in_journal sluice-agent.service "Stopping on"
check "the control plane logged its stop" \
	in_journal sluice-controlplane.service "sluice-controlplane: stopped"

section "purge with systemd running"
check "apt-get purge the four packages" run apt-get purge -y -o Dpkg::Use-Pty=0 \
	sluice-agent sluice-controlplane sluice-ceremony sluice-tuf
run systemctl list-unit-files --no-pager "sluice-*"
check "neither unit is left (list-unit-files)" \
	sh -c "! systemctl list-unit-files --no-legend ${UNITS[*]} | grep -q ."
check "purge keeps the control plane's initialised state" test -f $CP_STATE/controlplane.db
check "the binaries and /etc/sluice/agent.conf are gone" \
	sh -c '! ls /usr/bin/sluice-* /etc/sluice/agent.conf 2>/dev/null | grep -q .'
run systemctl --no-pager --failed
finish

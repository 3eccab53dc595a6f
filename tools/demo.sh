#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The sluice demo, end to end on one machine: a key ceremony with three root key holders,
# the control plane, provisioning of three simulated devices from "USB" directories, agents
# updating file-backed A/B slots and a model from the control plane on loopback, a phased
# rollout in which one device fails its health check and rolls back, and one device updated
# offline from an exported directory with its signed receipt imported.
#
# On a fresh Debian 12 machine, as root: ./tools/demo.sh
#
# Environment (all optional):
#   SLUICE_DEMO_DIR     the work directory (must be empty or absent; default: mktemp -d)
#   SLUICE_BUILD_DIR    use the binaries of this build directory; skips install-deps and build
#   SLUICE_DEMO_ADDR    the control plane's listen address (default 127.0.0.1)
#   SLUICE_DEMO_PORT    its port (default: a free port on SLUICE_DEMO_ADDR)
#   SLUICE_DEMO_OFFLINE_NETNS, SLUICE_DEMO_CP_NETNS, SLUICE_DEMO_DEVICE_NETNS
#                       run the offline tools (ceremony, provisioning), the control plane
#                       server and the device agents in these network namespaces
#                       (tests/integration/airgap/ uses them)
#   SLUICE_AIRGAP=1     air-gap mode in every component; the ceremony then runs without
#                       --allow-network, which needs a machine (or namespace) with no
#                       network interface up
#   NO_COLOR            plain headlines
#
# Exit status: 0 when every step succeeded; otherwise non-zero, naming the failed step.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
t_start=$(date +%s)

# ---- output --------------------------------------------------------------------------------

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	B=$'\033[1m' G=$'\033[32m' R=$'\033[31m' D=$'\033[2m' N=$'\033[0m'
else
	B='' G='' R='' D='' N=''
fi
STEP_NO=0
STEP_NAME="set-up"
W=""

step()
{
	STEP_NO=$1
	STEP_NAME=$2
	printf '\n%s== Step %s: %s ==%s\n' "$B" "$1" "$2" "$N"
}

say()
{
	printf '   %s\n' "$@"
}

# ---- work directory and binaries ------------------------------------------------------------

if [ -n "${SLUICE_DEMO_DIR:-}" ]; then
	W=$SLUICE_DEMO_DIR
	mkdir -p "$W"
	if [ -n "$(ls -A "$W")" ]; then
		echo "demo: SLUICE_DEMO_DIR=$W is not empty" >&2
		exit 2
	fi
else
	W=$(mktemp -d "${TMPDIR:-/tmp}/sluice-demo.XXXXXX")
fi
W=$(cd "$W" && pwd)
mkdir -p "$W/log"

CP_PID=""
on_exit()
{
	local rc=$?

	trap - EXIT
	if [ -n "$CP_PID" ] && kill -0 "$CP_PID" 2>/dev/null; then
		kill -TERM "$CP_PID" 2>/dev/null || true
		wait "$CP_PID" 2>/dev/null || true
	fi
	if [ "$rc" -ne 0 ]; then
		printf '\n%sdemo FAILED in step %s (%s), exit %s%s\n' "$R" "$STEP_NO" "$STEP_NAME" \
			"$rc" "$N" >&2
		printf 'work directory: %s (logs in log/)\n' "$W" >&2
	fi
	exit "$rc"
}
trap on_exit EXIT

if [ -n "${SLUICE_BUILD_DIR:-}" ]; then
	BUILD=$(cd "$SLUICE_BUILD_DIR" && pwd)
else
	step 0 "Set-up: Debian packages and the build"
	say "tools/install-deps.sh installs what is missing (apt-get), then meson builds into build-demo."
	say "(the demo needs no npm package: only the interop tests use tuf-js)"
	if [ "$(id -u)" -ne 0 ]; then
		say "(not root: install-deps.sh only checks that the packages are present)"
	fi
	SLUICE_DEPS_NPM=0 "$top/tools/install-deps.sh"
	BUILD=$top/build-demo
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$top" >"$W/log/meson-setup.log" 2>&1 ||
			{ tail -20 "$W/log/meson-setup.log"; exit 1; }
	fi
	say "ninja -C build-demo (log: $W/log/build.log)"
	ninja -C "$BUILD" >"$W/log/build.log" 2>&1 || { tail -30 "$W/log/build.log"; exit 1; }
fi

CER=$BUILD/ceremony/sluice-ceremony
CP=$BUILD/controlplane/sluice-controlplane
PROV=$BUILD/provisioning/sluice-provision
AGENT=$BUILD/agent/sluice-agent
for b in "$CER" "$CP" "$PROV" "$AGENT"; do
	[ -x "$b" ] || { echo "demo: $b is not built" >&2; exit 1; }
done
export SLUICE_AGENT=$AGENT
DEVPY=$top/tools/demo/device.py

# Optional network namespaces (the air-gap test): a prefix per kind of process.
ns_prefix()
{
	if [ -n "$1" ]; then
		echo "ip netns exec $1"
	fi
}
read -r -a WRAP_OFFLINE <<<"$(ns_prefix "${SLUICE_DEMO_OFFLINE_NETNS:-}")"
read -r -a WRAP_CP <<<"$(ns_prefix "${SLUICE_DEMO_CP_NETNS:-}")"
read -r -a WRAP_DEVICE <<<"$(ns_prefix "${SLUICE_DEMO_DEVICE_NETNS:-}")"

AIRGAP=0
if [ "${SLUICE_AIRGAP:-}" = 1 ]; then
	AIRGAP=1
fi

# run NAME ARGS...: show the command (paths relative to the work directory), run it in the
# work directory with the right binary and namespace, indent its output; fail with it.
run()
{
	local name=$1 shown
	local -a cmd
	shift
	case $name in
	sluice-ceremony) cmd=("${WRAP_OFFLINE[@]}" "$CER") ;;
	sluice-provision) cmd=("${WRAP_OFFLINE[@]}" "$PROV") ;;
	sluice-controlplane) cmd=("${WRAP_CP[@]}" "$CP") ;;
	sluice-agent) cmd=("${WRAP_DEVICE[@]}" "$AGENT") ;;
	device.py) cmd=("${WRAP_DEVICE[@]}" python3 "$DEVPY") ;;
	*) cmd=("$name") ;;
	esac
	shown="$name $*"
	shown=${shown//$W\//}
	printf '   %s$ %s%s\n' "$D" "$shown" "$N"
	if ! (cd "$W" && "${cmd[@]}" "$@") >"$W/log/last.out" 2>&1; then
		sed 's/^/     | /' "$W/log/last.out"
		printf '   %scommand failed: %s%s\n' "$R" "$shown" "$N" >&2
		return 1
	fi
	sed 's/^/     | /' "$W/log/last.out"
	cat "$W/log/last.out" >>"$W/log/all.out"
}

# quiet NAME ARGS...: the same without showing the output (still logged).
quiet()
{
	run "$@" >"$W/log/quiet.out" || { cat "$W/log/quiet.out"; return 1; }
	head -1 "$W/log/quiet.out"
}

ALLOW_NET=(--allow-network)
if [ "$AIRGAP" = 1 ]; then
	ALLOW_NET=()
fi

ADDR=${SLUICE_DEMO_ADDR:-127.0.0.1}
if [ -n "${SLUICE_DEMO_PORT:-}" ]; then
	PORT=$SLUICE_DEMO_PORT
else
	PORT=$("${WRAP_CP[@]}" python3 -c 'import socket,sys
s = socket.socket()
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])' "$ADDR")
fi
URL="https://$ADDR:$PORT"
STATE=$W/controlplane/state
DEVICES=(dev-001 dev-002 dev-003)
HW=board-a
R1=1.0
R2=2.0

# Which paths exist in this build (other parts of sluice land independently).
has_verb()
{
	"$1" --help 2>&1 | grep -Eq "^  $2( |$)"
}
DAEMON=0
has_verb "$AGENT" run && DAEMON=1
EXPORT=0
has_verb "$CP" export-offline && EXPORT=1
IMPORT=0
has_verb "$CP" import-receipts && IMPORT=1

printf '%ssluice demo%s — work directory %s\n' "$B" "$N" "$W"
say "binaries: $BUILD"
say "control plane will listen on $ADDR:$PORT (mTLS)"
say "air-gap mode: $([ "$AIRGAP" = 1 ] && echo on || echo off)"
if [ "$DAEMON" = 1 ]; then
	say "online updates: the agent daemon ('sluice-agent run --once': check-in, download over"
	say "  mTLS, event upload)"
else
	say "online updates: this build has no agent daemon ('sluice-agent run' is missing); the demo"
	say "  checks in and uploads events for the agent with curl over the same mTLS identity and"
	say "  installs with 'sluice-agent install --from' from a copy of the served repository"
fi

# ==== 1. Key ceremony: keys ====================================================================

step 1 "Key ceremony (offline laptop): three root key holders, a targets key holder"
say "A real ceremony runs on an air-gapped laptop with no network hardware, each holder types"
say "the passphrase on the terminal (echo off), and the KDF uses libsodium's *sensitive* limits."
say "This demo feeds passphrases with --passphrase-fd, uses '--kdf interactive' to stay fast$(
	[ "$AIRGAP" = 1 ] && echo '.' || echo ',')"
[ "$AIRGAP" = 1 ] || say "and '--allow-network' because this machine has a network interface up."
mkdir -p "$W/ceremony" "$W/usb"
for holder in root-a root-b root-c targets-d; do
	role=${holder%-*}
	mkdir -p "$W/usb/KEY-${holder^^}"
	run sluice-ceremony keygen --role "$role" --out "$W/usb/KEY-${holder^^}/$holder.key" \
		--kdf interactive "${ALLOW_NET[@]}" --passphrase-fd 3 \
		--transcript "$W/ceremony/transcript.jsonl" 3<<<"passphrase of $holder, demo only"
	quiet sluice-ceremony pubkey "$W/usb/KEY-${holder^^}/$holder.key" \
		--out "$W/ceremony/$holder.pub"
done

# ==== 2. Control plane init ====================================================================

step 2 "Control plane: initialise; its online snapshot/timestamp keys go to the ceremony"
say "The control plane generates the only online keys (snapshot, timestamp). Their public"
say "halves travel to the ceremony on the 'online keys' stick."
mkdir -p "$W/controlplane"
run sluice-controlplane init --dir "$STATE"
mkdir -p "$W/usb/ONLINE"
cp "$STATE/online-keys.json" "$W/usb/ONLINE/"
cp "$W/usb/ONLINE/online-keys.json" "$W/ceremony/"

# ==== 3. Root v1 ===============================================================================

step 3 "Key ceremony: root metadata v1 (root threshold 2 of 3), signed by two holders"
run sluice-ceremony root init --root-key "$W/ceremony/root-a.pub" \
	--root-key "$W/ceremony/root-b.pub" --root-key "$W/ceremony/root-c.pub" \
	--targets-key "$W/ceremony/targets-d.pub" --online-keys "$W/ceremony/online-keys.json" \
	--root-threshold 2 --targets-threshold 1 --expires-days 365 \
	--out "$W/ceremony/1.root.json" --transcript "$W/ceremony/transcript.jsonl"
for holder in root-a root-b; do
	run sluice-ceremony sign "$W/ceremony/1.root.json" --key "$W/usb/KEY-${holder^^}/$holder.key" \
		--passphrase-fd 3 --transcript "$W/ceremony/transcript.jsonl" \
		3<<<"passphrase of $holder, demo only"
done
run sluice-ceremony root check "$W/ceremony/1.root.json"
mkdir -p "$W/usb/TRANSFER"
cp "$W/ceremony/1.root.json" "$W/usb/TRANSFER/"

step 4 "Control plane: import the root (compare the fingerprints read aloud)"
run sluice-controlplane root-import --dir "$STATE" "$W/usb/TRANSFER/1.root.json"

# ==== 5. Release 1 =============================================================================

# make_release NAME IMAGE-TEXT MODEL-TEXT [PREVIOUS-TARGETS]
make_release()
{
	local name=$1 prev=${3:-} rel=$W/release/$1
	local -a extra=()

	mkdir -p "$rel"
	quiet device.py image "$rel/rootfs.img" "$name"
	printf 'GOODMODEL detector %s\n' "$2" >"$rel/detector.onnx"
	cat >"$rel/release.json" <<-EOF
	{
	  "sluice_manifest": 1,
	  "release": "$name",
	  "artifacts": [
	    {"file": "rootfs.img", "target": "images/$HW/rootfs.img", "kind": "image",
	     "hardware": ["$HW"], "slot_class": "rootfs"},
	    {"file": "detector.onnx", "target": "models/detector.onnx", "kind": "model",
	     "hardware": ["$HW"], "model": {"name": "detector", "runtime": "onnxruntime>=1.16"}}
	  ]
	}
	EOF
	if [ -n "$prev" ]; then
		extra=(--previous-targets "$prev")
	fi
	run sluice-ceremony release --manifest "$rel/release.json" --root "$W/ceremony/1.root.json" \
		--key "$W/usb/KEY-TARGETS-D/targets-d.key" --out "$W/usb/TRANSFER/bundle-$name" \
		--passphrase-fd 3 --transcript "$W/ceremony/transcript.jsonl" "${extra[@]}" \
		3<<<"passphrase of targets-d, demo only"
}

step 5 "Release $R1: an A/B image and a model, signed offline, published"
say "The release engineer brings the image and the model; the targets key holder signs."
make_release "$R1" "v1"
run sluice-controlplane publish --dir "$STATE" "$W/usb/TRANSFER/bundle-$R1"

# ==== 6. Provisioning ==========================================================================

step 6 "Provisioning station: CAs, the control plane's TLS certificate, three USB media"
PKI=$W/provisioning/pki
mkdir -p "$W/provisioning"
run sluice-provision ca init --dir "$PKI" --name "sluice demo" --kdf interactive \
	--passphrase-fd 3 3<<<"station passphrase, demo only"
run sluice-provision server-cert --dir "$PKI" --dns localhost --ip "$ADDR" \
	--out "$W/usb/TLS" --passphrase-fd 3 3<<<"station passphrase, demo only"
mkdir -p "$STATE/tls"
cp "$W/usb/TLS/server.crt" "$W/usb/TLS/server.key" "$W/usb/TLS/device-ca.pem" \
	"$W/usb/TLS/crl.pem" "$STATE/tls/"
for d in "${DEVICES[@]}"; do
	run sluice-provision device --dir "$PKI" --id "$d" --hardware "$HW" --controlplane "$URL" \
		--root "$W/usb/TRANSFER/1.root.json" --out "$W/usb/MEDIA-$d" \
		--passphrase-fd 3 3<<<"station passphrase, demo only"
done
run sluice-provision export --dir "$PKI" --out "$W/usb/TRANSFER/approve.jsonl"
say "The control plane approves exactly these certificates (all or nothing):"
APPROVE=$W/usb/TRANSFER/approve.jsonl
if ! run sluice-controlplane devices --dir "$STATE" approve --from "$APPROVE"; then
	# Known mismatch in this tree: sluice-provision export adds "not_after", which this
	# control plane's strict reader refuses. Keep the three members it reads and retry.
	say "(this control plane refuses the export's extra member \"not_after\"; retrying with"
	say " only id, hardware and cert_sha256 — a known mismatch between the two tools)"
	python3 -c 'import json,sys
for ln in open(sys.argv[1]):
    if ln.strip():
        o = json.loads(ln)
        print(json.dumps({k: o[k] for k in ("id", "hardware", "cert_sha256")}))' \
		"$W/usb/TRANSFER/approve.jsonl" >"$W/usb/TRANSFER/approve-3.jsonl"
	run sluice-controlplane devices --dir "$STATE" approve --from "$W/usb/TRANSFER/approve-3.jsonl"
fi
quiet sluice-controlplane devices --dir "$STATE" approve dev-001 --tags lab,online
quiet sluice-controlplane devices --dir "$STATE" approve dev-002 --tags lab,online
quiet sluice-controlplane devices --dir "$STATE" approve dev-003 --tags site-b
run sluice-controlplane devices --dir "$STATE" list

# ==== 7. Devices ===============================================================================

step 7 "Three simulated devices import their USB media"
say "Each device: two 2 MiB slot files (A/B), a 'file' bootloader state (U-Boot variables:"
say "boot_slot, upgrade_available, bootcount, bootlimit=1), a models directory, a health check."
say "The health check of dev-001 and dev-002 also fails while a file 'fault' exists in the"
say "device's directory: the demo breaks one device's sensor before the phased rollout."
for d in "${DEVICES[@]}"; do
	extra=()
	if [ "$d" != dev-003 ]; then
		extra=(--fault-file "$W/devices/$d/fault")
	fi
	"${WRAP_DEVICE[@]}" python3 "$DEVPY" create "$W/devices/$d" "${extra[@]}"
	run sluice-agent --config "$W/devices/$d/agent.conf" provision "$W/usb/MEDIA-$d"
done

# ==== 8. Serve =================================================================================

step 8 "Control plane serves the repository and the device API on $ADDR:$PORT (mTLS)"
say "Listeners only: the control plane never opens an outbound connection."
printf '   %s$ sluice-controlplane serve --dir controlplane/state --listen %s:%s %s &%s\n' \
	"$D" "$ADDR" "$PORT" "--metrics 127.0.0.1:0 --threads 1" "$N"
"${WRAP_CP[@]}" "$CP" serve --dir "$STATE" --listen "$ADDR:$PORT" --metrics 127.0.0.1:0 \
	--threads 1 >"$W/log/serve.log" 2>&1 &
CP_PID=$!
for _ in $(seq 1 200); do
	grep -q "listeners: mTLS on" "$W/log/serve.log" && break
	kill -0 "$CP_PID" 2>/dev/null || { cat "$W/log/serve.log"; exit 1; }
	sleep 0.1
done
grep -q "listeners: mTLS on" "$W/log/serve.log" || { cat "$W/log/serve.log"; exit 1; }
sed 's/^/     | /' "$W/log/serve.log"
METRICS=$(sed -n 's/.*metrics on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$W/log/serve.log" | head -1)

# wait_served: until the server serves the repository generation the database holds (it
# notices a publish within its 500 ms poll; one event loop, so its metrics gauge is exact).
wait_served()
{
	local want got=""

	want=$("${WRAP_CP[@]}" "$CP" status --dir "$STATE" --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["repository_generation"])')
	for _ in $(seq 1 100); do
		got=$("${WRAP_CP[@]}" curl -s --noproxy '*' --max-time 5 "http://$METRICS/metrics" |
			sed -n 's/^sluice_cp_repo_generation \([0-9]*\).*/\1/p')
		if [ "$got" = "$want" ]; then
			say "the server now serves repository generation $got (metrics: http://$METRICS/metrics)"
			return 0
		fi
		sleep 0.1
	done
	echo "demo: the server still serves generation ${got:-?}, not $want" >&2
	return 1
}

# ---- one device's online cycle ------------------------------------------------------------

# The mTLS identity the device imported (used by the stand-in for the daemon).
curl_dev()
{
	local d=$1 path=$2 body=$3 id=$W/devices/$1/state/identity

	"${WRAP_DEVICE[@]}" curl -sS --fail --max-time 30 --noproxy '*' --cacert "$id/ca.pem" \
		--cert "$id/device.crt" --key "$id/device.key" -H 'Content-Type: application/json' \
		--data-binary "$body" "$URL$path"
}

checkin_body()
{
	"${WRAP_DEVICE[@]}" python3 - "$W/devices/$1" <<-'EOF'
	import json, subprocess, sys, os
	conf = sys.argv[1] + "/agent.conf"
	st = json.loads(subprocess.run([os.environ["SLUICE_AGENT"], "--config", conf, "status", "--json"],
	                               capture_output=True, text=True, check=True).stdout)
	inst = st.get("installed") or {}
	body = {"release": inst.get("release"), "hardware": st.get("hardware"),
	        "slot": (st.get("slots") or {}).get("booted"),
	        "state": (st.get("install") or {}).get("phase", "idle")}
	print(json.dumps({k: v for k, v in body.items() if v is not None}))
	EOF
}

upload_events()
{
	local body
	body=$("${WRAP_DEVICE[@]}" "$AGENT" --config "$W/devices/$1/agent.conf" events --json |
		python3 -c 'import json,sys
ev = json.load(sys.stdin)
ev = ev.get("events", ev) if isinstance(ev, dict) else ev
keep = ("seq", "time", "release", "type", "error")
print(json.dumps({"events": [{k: e[k] for k in keep if e.get(k) is not None} for e in ev]}))')
	printf '   %s$ curl --cert dev/device.crt POST %s/v1/events  (%s)%s\n' "$D" "$URL" "$1" "$N"
	curl_dev "$1" /v1/events "$body" | sed 's/^/     | /'
	echo
}

# online_cycle DEVICE: check in, install what the control plane asks for, reboot into the
# trial slot (boot-check commits or rolls back), report.
online_cycle()
{
	local d=$1 conf=$W/devices/$1/agent.conf want

	say "--- $d ---"
	if [ "$DAEMON" = 1 ]; then
		run sluice-agent --config "$conf" run --once
		if [ -e "$W/devices/$d/reboot-requested" ]; then
			say "the agent asked for a reboot: the simulated bootloader tries the new slot once"
			run device.py reboot "$W/devices/$d"
			run sluice-agent --config "$conf" run --once
		fi
	else
		printf '   %s$ curl --cert dev/device.crt POST %s/v1/checkin  (%s)%s\n' "$D" "$URL" "$d" "$N"
		want=$(curl_dev "$d" /v1/checkin "$(checkin_body "$d")")
		printf '     | %s\n' "$want"
		want=$(echo "$want" | python3 -c 'import json,sys
print(json.load(sys.stdin).get("desired_release") or "")')
		if [ -n "$want" ]; then
			rm -rf "$W/served-copy"
			cp -a "$STATE/repo" "$W/served-copy"
			rm -rf "$W/served-copy/receipts"
			run sluice-agent --config "$conf" install --from "$W/served-copy" --release "$want"
			if [ -e "$W/devices/$d/reboot-requested" ]; then
				say "the agent asked for a reboot: the simulated bootloader tries the new slot once"
				run device.py reboot "$W/devices/$d"
			fi
			upload_events "$d"
			curl_dev "$d" /v1/checkin "$(checkin_body "$d")" >/dev/null
		fi
	fi
	run device.py show "$W/devices/$d"
}

# ==== 9. Release 1 to the fleet ================================================================

step 9 "Release $R1 to the whole fleet (one wave): agents update slot B and the model"
run sluice-controlplane rollout --dir "$STATE" create --release "$R1" --waves 100
for d in "${DEVICES[@]}"; do
	online_cycle "$d"
done
run sluice-controlplane rollout --dir "$STATE" status

# ==== 10. Release 2 ============================================================================

step 10 "Release $R2: a new image and model, signed offline, published"
make_release "$R2" "v2" "$W/usb/TRANSFER/bundle-$R1/metadata/1.targets.json"
run sluice-controlplane publish --dir "$STATE" "$W/usb/TRANSFER/bundle-$R2"
wait_served

# ==== 11. Phased rollout ======================================================================

step 11 "Phased rollout of $R2 to the 'online' devices: waves 50%, 100%"
run sluice-controlplane rollout --dir "$STATE" create --release "$R2" --tag online --waves 50,100 \
	--max-failure-rate 0.2 --min-devices 1
ROLLOUT=$("${WRAP_CP[@]}" "$CP" rollout --dir "$STATE" --json status |
	python3 -c 'import json,sys
d = json.load(sys.stdin)
rs = d if isinstance(d, list) else d.get("rollouts", [d])
print([r for r in rs if r.get("state") == "active"][0]["id"])')
say "rollout $ROLLOUT; a device's cohort is SHA-256(rollout id, 0, device id) mod 100:"
ORDER=$(python3 - "$ROLLOUT" dev-001 dev-002 <<-'EOF'
	import hashlib, sys
	rid = sys.argv[1]
	c = {d: int.from_bytes(hashlib.sha256(rid.encode() + b"\0" + d.encode()).digest()[:4], "big") % 100
	     for d in sys.argv[2:]}
	for d in sorted(c, key=lambda d: (c[d], d)):
	    print(d, c[d], 1 if c[d] < 50 else 2)
	EOF
)
while read -r d c wave; do
	say "  $d: cohort $c -> wave $wave"
done <<<"$ORDER"
FAULTY=$(tail -1 <<<"$ORDER" | cut -d' ' -f1)
HEALTHY=$(head -1 <<<"$ORDER" | cut -d' ' -f1)
echo "$FAULTY" >"$W/faulty-device"
say "$FAULTY (the later cohort) breaks its sensor now: its health check will fail on the"
say "trial boot."
touch "$W/devices/$FAULTY/fault"
say "Devices update in cohort order; a wave advances by itself once all of its devices committed."
while read -r d _ _; do
	online_cycle "$d"
	run sluice-controlplane rollout --dir "$STATE" status "$ROLLOUT"
done <<<"$ORDER"
say "$HEALTHY runs $R2. $FAULTY tried $R2 once, failed its health check, and is back on its"
say "previous slot with release $R1. Its failure halted the rollout: a halted rollout asks no"
say "further device to update; an operator investigates and aborts it."

# ==== 12. Offline update ======================================================================

step 12 "dev-003 sits behind an air gap: release $R2 carried on a USB stick, receipt carried back"
OFF=$W/usb/OFFLINE-$R2
if [ "$EXPORT" = 1 ]; then
	run sluice-controlplane export-offline --dir "$STATE" --release "$R2" --out "$OFF"
else
	say "(this build has no 'sluice-controlplane export-offline': copying the served repository,"
	say " which has the same layout, to the stick)"
	mkdir -p "$OFF"
	cp -a "$STATE/repo/metadata" "$STATE/repo/targets" "$OFF/"
fi
run sluice-agent --config "$W/devices/dev-003/agent.conf" install --from "$OFF" --release "$R2"
run device.py reboot "$W/devices/dev-003"
say "The commit decided at boot is queued as a receipt and written to the next medium:"
run sluice-agent --config "$W/devices/dev-003/agent.conf" install --from "$OFF" --release "$R2"
run device.py show "$W/devices/dev-003"
run ls "$OFF/receipts"
if [ "$IMPORT" = 1 ]; then
	run sluice-controlplane import-receipts --dir "$STATE" "$OFF"
else
	say "(this build has no 'sluice-controlplane import-receipts': the receipts stay on the stick;"
	say " each is signed with dev-003's device key over the canonical JSON of 'signed')"
fi

# ==== 13. Fleet state =========================================================================

step 13 "The fleet's state"
run sluice-controlplane status --dir "$STATE"
run sluice-controlplane devices --dir "$STATE" list
run sluice-controlplane history --dir "$STATE"
run sluice-controlplane rollout --dir "$STATE" status
run sluice-controlplane audit --dir "$STATE" verify

kill -TERM "$CP_PID"
wait "$CP_PID" || true
CP_PID=""
STEP_NAME="done"
printf '\n%sdemo finished in %ss%s — everything is in %s\n' "$G" "$(($(date +%s) - t_start))" \
	"$N" "$W"

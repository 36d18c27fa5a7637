#!/usr/bin/env bash
# Runs Hulian's FSPIOP front end against Mojaloop's real, unmodified SDK
# scheme adapter (npm @mojaloop/sdk-scheme-adapter) as two DFSPs, and
# prints PASS/FAIL per scenario. See docs/interop-sdk.md.
#
# Everything listens on loopback, lives under one temp dir and is stopped
# on exit (KEEP=1 keeps the temp dir and its logs). Needs node (>= 16),
# npm, redis-server, curl, jq and openssl; installs the SDK into $SDK_DIR
# once and builds the switch into $HULIAN_BIN unless it exists.
#
# Environment: SDK_DIR (default /tmp/sdk), SDK_VERSION (default 18.0.2),
# HULIAN_BIN (default /tmp/hulian-sdk), BASE_PORT (default 17000),
# SCENARIOS (default all: "plain jwsrelay jws signers fees").
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SDK_DIR=${SDK_DIR:-/tmp/sdk}
SDK_VERSION=${SDK_VERSION:-18.0.2}
HULIAN_BIN=${HULIAN_BIN:-/tmp/hulian-sdk}
BASE=${BASE_PORT:-17000}
SCENARIOS=${SCENARIOS:-plain jwsrelay jws signers fees}

SW_ADDR=127.0.0.1:$((BASE + 0))  # native API
FSP_ADDR=127.0.0.1:$((BASE + 1)) # FSPIOP API
REDIS_PAYER=$((BASE + 2))
REDIS_PAYEE=$((BASE + 3))
PAYER_IN=$((BASE + 10)) PAYER_OUT=$((BASE + 11)) PAYER_METRICS=$((BASE + 14))
PAYEE_IN=$((BASE + 20)) PAYEE_OUT=$((BASE + 21)) PAYEE_METRICS=$((BASE + 24))
PAYER_BACKEND=$((BASE + 30)) PAYEE_BACKEND=$((BASE + 31))
NATIVE_CB=$((BASE + 32))
CURRENCY=USD
PAYEE_MSISDN=27713803912  # held by payeefsp (an SDK)
NATIVE_MSISDN=27821234567 # held by the native participant "wallet-n"
PAYER_MSISDN=27710000001
SDK_MAIN=$SDK_DIR/node_modules/@mojaloop/sdk-scheme-adapter/src/index.js

WORK=$(mktemp -d /tmp/hulian-sdk-interop.XXXXXX)
PIDS=()
FAILS=0
SDK_PAYER_PID= SDK_PAYEE_PID= SWITCH_PID=

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

cleanup() {
	local p
	for p in "${PIDS[@]}" $SDK_PAYER_PID $SDK_PAYEE_PID $SWITCH_PID; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then
		log "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

wait_port() { # host:port, seconds [pid that must stay alive]
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
		if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
			log "process $3 exited before listening on $1"
			return 1
		fi
		sleep 0.1
	done
	log "nothing listens on $1 after $2 s"
	return 1
}

result() { # name, PASS|FAIL, detail
	printf '%-58s %s %s\n' "$1" "$2" "${3:-}"
	[ "$2" = PASS ] || FAILS=$((FAILS + 1))
}

# --- prerequisites -----------------------------------------------------------
if [ ! -f "$SDK_MAIN" ]; then
	log "installing @mojaloop/sdk-scheme-adapter@$SDK_VERSION into $SDK_DIR"
	mkdir -p "$SDK_DIR" && (cd "$SDK_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
		npm install --no-audit --no-fund "@mojaloop/sdk-scheme-adapter@$SDK_VERSION" >"$WORK/npm.log" 2>&1) ||
		{ log "npm install failed: $WORK/npm.log"; exit 2; }
fi
command -v redis-server >/dev/null || { log "redis-server missing (apt-get install -y redis-server)"; exit 2; }
if [ ! -x "$HULIAN_BIN" ]; then
	log "building $HULIAN_BIN"
	(cd "$REPO" && go build -o "$HULIAN_BIN" ./cmd/hulian) || exit 2
fi
SDK_REAL_VERSION=$(jq -r .version "$SDK_DIR/node_modules/@mojaloop/sdk-scheme-adapter/package.json")
SSC_VERSION=$(jq -r .version "$SDK_DIR/node_modules/@mojaloop/sdk-standard-components/package.json")
log "sdk-scheme-adapter $SDK_REAL_VERSION, sdk-standard-components $SSC_VERSION, node $(node --version)"

# --- keys ----------------------------------------------------------------------
mkdir -p "$WORK/keys/verify"
for who in payerfsp payeefsp hub; do
	openssl genrsa -out "$WORK/keys/$who.key" 2048 2>/dev/null
	openssl rsa -in "$WORK/keys/$who.key" -pubout -out "$WORK/keys/$who.pem" 2>/dev/null
done
# Each SDK picks the verification key by FSPIOP-Source: the other DFSP's,
# and the switch's under its hub name ("hub") and under the native
# participant's id (the switch signs what it sends on its behalf).
cp "$WORK/keys/payerfsp.pem" "$WORK/keys/verify/payerfsp.pem"
cp "$WORK/keys/payeefsp.pem" "$WORK/keys/verify/payeefsp.pem"
cp "$WORK/keys/hub.pem" "$WORK/keys/verify/wallet-n.pem"
cp "$WORK/keys/hub.pem" "$WORK/keys/verify/hub.pem"

# --- redis, backends, switch ---------------------------------------------------
for p in $REDIS_PAYER $REDIS_PAYEE; do
	redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >"$WORK/redis-$p.log" 2>&1 &
	PIDS+=($!)
done

PAYEE_PARTIES="{\"MSISDN/$PAYEE_MSISDN\":{\"firstName\":\"Thandi\",\"lastName\":\"Mokoena\"}}"
PAYER_PARTIES="{\"MSISDN/$PAYER_MSISDN\":{\"firstName\":\"Sipho\",\"lastName\":\"Dlamini\"}}"
PORT=$PAYER_BACKEND PARTIES=$PAYER_PARTIES LOG=$WORK/backend-payer.jsonl node "$HERE/backend.js" &
PIDS+=($!)
PORT=$PAYEE_BACKEND PARTIES=$PAYEE_PARTIES LOG=$WORK/backend-payee.jsonl node "$HERE/backend.js" &
PIDS+=($!)
# The native participant's callback receiver (transfers.committed): it logs and answers 200.
PORT=$NATIVE_CB LOG=$WORK/native-callbacks.jsonl node -e '
const http=require("http"),fs=require("fs");
http.createServer((q,r)=>{let d="";q.on("data",c=>d+=c);q.on("end",()=>{
fs.appendFileSync(process.env.LOG,JSON.stringify({path:q.url,body:d})+"\n");r.writeHead(200);r.end("{}");});
}).listen(Number(process.env.PORT),"127.0.0.1");' &
PIDS+=($!)

OP=$(openssl rand -hex 24)
start_switch() { # extra flags
	HULIAN_ADMIN_TOKEN=$OP "$HULIAN_BIN" serve --data "$WORK/switch" --addr "$SW_ADDR" --fspiop-addr "$FSP_ADDR" \
		--callback-allow-private --region ZA "$@" >>"$WORK/switch.log" 2>&1 &
	SWITCH_PID=$!
	wait_port "$SW_ADDR" 30 "$SWITCH_PID" && wait_port "$FSP_ADDR" 10
}
start_switch --fspiop-jws-key "$WORK/keys/hub.key" || { log "switch did not start: $(tail -5 "$WORK/switch.log")"; exit 1; }
wait_port 127.0.0.1:$REDIS_PAYER 10 && wait_port 127.0.0.1:$REDIS_PAYEE 10 || exit 1

api() { # method path [json]
	if [ $# -ge 3 ]; then
		curl -sS -X "$1" "http://$SW_ADDR$2" -H "Authorization: Bearer ${TOKEN:-$OP}" -H 'Content-Type: application/json' -d "$3"
	else
		curl -sS -X "$1" "http://$SW_ADDR$2" -H "Authorization: Bearer ${TOKEN:-$OP}"
	fi
}

create() { # id fspiop-json-or-empty [callbackUrl]
	local body="{\"id\":\"$1\",\"name\":\"$1\",\"kind\":\"wallet\",\"currencies\":[\"$CURRENCY\"]"
	[ -n "$2" ] && body="$body,\"fspiop\":$2"
	[ -n "${3:-}" ] && body="$body,\"callbackUrl\":\"$3\""
	body="$body}"
	local out
	out=$(api POST /v1/participants "$body")
	echo "$out" >"$WORK/participant-$1.json"
	jq -er .apiKey <<<"$out" || { log "creating $1: $out"; return 1; }
}
PAYER_KEY=$(create payerfsp "{\"endpoint\":\"http://127.0.0.1:$PAYER_IN\"}") || exit 1
PAYEE_KEY=$(create payeefsp "{\"endpoint\":\"http://127.0.0.1:$PAYEE_IN\"}") || exit 1
NATIVE_KEY=$(create wallet-n "" "http://127.0.0.1:$NATIVE_CB/hulian") || exit 1
for id in payerfsp payeefsp wallet-n; do
	api POST "/v1/participants/$id/funds" "{\"currency\":\"$CURRENCY\",\"amount\":\"10000.00\",\"direction\":\"deposit\"}" >"$WORK/funds-$id.json"
done
TOKEN=$NATIVE_KEY api POST /v1/parties \
	"{\"type\":\"MSISDN\",\"value\":\"+$NATIVE_MSISDN\",\"name\":\"Naledi Khumalo\",\"account\":\"n-1\",\"currency\":\"$CURRENCY\"}" >"$WORK/native-party.json"
log "participants payerfsp, payeefsp (FSPIOP), wallet-n (native); wallet-n's party: $(cat "$WORK/native-party.json")"

# --- SDK instances ---------------------------------------------------------------
start_sdk() { # name dfsp in out metrics redis backend key jws(true|false); sets SDK_PID
	local name=$1
	(
		cd "$WORK" || exit 1
		export DFSP_ID=$2 INBOUND_LISTEN_PORT=$3 OUTBOUND_LISTEN_PORT=$4 METRICS_SERVER_LISTEN_PORT=$5 \
			TEST_LISTEN_PORT=$(($5 + 1)) CACHE_URL=redis://127.0.0.1:$6 BACKEND_ENDPOINT=127.0.0.1:$7 \
			PEER_ENDPOINT=$FSP_ADDR ALS_ENDPOINT=$FSP_ADDR QUOTES_ENDPOINT=$FSP_ADDR TRANSFERS_ENDPOINT=$FSP_ADDR \
			WSO2_BEARER_TOKEN=$8 OIDC_BEARER_TOKEN=$8 \
			JWS_SIGN=$9 VALIDATE_INBOUND_JWS=$9 JWS_SIGNING_KEY_PATH=$WORK/keys/$2.key \
			JWS_VERIFICATION_KEYS_DIRECTORY=$WORK/keys/verify \
			AUTO_ACCEPT_PARTY=true AUTO_ACCEPT_QUOTES=true EXPIRY_SECONDS=60 REQUEST_PROCESSING_TIMEOUT_SECONDS=15 \
			LOG_INDENT=0
		exec node "$SDK_MAIN"
	) >>"$WORK/sdk-$name.log" 2>&1 &
	SDK_PID=$!
}
start_sdks() { # jws
	start_sdk payer payerfsp $PAYER_IN $PAYER_OUT $PAYER_METRICS $REDIS_PAYER $PAYER_BACKEND "$PAYER_KEY" "$1"
	SDK_PAYER_PID=$SDK_PID
	start_sdk payee payeefsp $PAYEE_IN $PAYEE_OUT $PAYEE_METRICS $REDIS_PAYEE $PAYEE_BACKEND "$PAYEE_KEY" "$1"
	SDK_PAYEE_PID=$SDK_PID
	wait_port 127.0.0.1:$PAYER_OUT 60 "$SDK_PAYER_PID" && wait_port 127.0.0.1:$PAYEE_OUT 60 "$SDK_PAYEE_PID" &&
		wait_port 127.0.0.1:$PAYER_IN 10 && wait_port 127.0.0.1:$PAYEE_IN 10
}
stop_sdks() {
	local p
	for p in $SDK_PAYER_PID $SDK_PAYEE_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	SDK_PAYER_PID= SDK_PAYEE_PID=
}

# outbound: POST to an SDK's outbound API, the answer in $WORK/$name.json.
outbound() { # name port path json
	curl -sS -m 60 -o "$WORK/$1.json" -w '%{http_code}' -X POST "http://127.0.0.1:$2$3" \
		-H 'Content-Type: application/json' -d "$4"
}

transfer_body() { # homeTxId to-msisdn amount
	cat <<EOF
{"homeTransactionId":"$1","from":{"idType":"MSISDN","idValue":"$PAYER_MSISDN","displayName":"Sipho Dlamini","firstName":"Sipho","lastName":"Dlamini","dateOfBirth":"1980-01-01"},
 "to":{"idType":"MSISDN","idValue":"$2"},"amountType":"SEND","currency":"$CURRENCY","amount":"$3",
 "transactionType":"TRANSFER","note":"interop test"}
EOF
}

# sdk_summary: what an SDK outbound answer says, in one line.
sdk_summary() { # file
	jq -c '{statusCode, message, state: (.currentState // .transferState.currentState),
		error: ((.lastError // .transferState.lastError).mojaloopError.errorInformation // (.lastError // .transferState.lastError))}' "$1" 2>/dev/null |
		head -c 700 || head -c 700 "$1"
}

# on_switch: the switch's own record of a transfer, "STATE AMOUNT" (operator's view).
on_switch() { # transfer id
	TOKEN=$OP api GET "/v1/transfers/$1" | jq -r '"\(.state) \(.amount)"' 2>/dev/null
}

balance() { # participant -> its available or balance figure, as the API shows it
	TOKEN=$OP api GET "/v1/participants/$1/accounts" | jq -c '.' 2>/dev/null
}

# --- scenarios -------------------------------------------------------------------
run_set() { # label jws
	local label=$1 code state
	log "[$label] starting SDKs (JWS ${2})"
	start_sdks "$2" || { result "[$label] SDKs start" FAIL "see $WORK/sdk-*.log"; stop_sdks; return; }

	# 1. the payee DFSP registers its party through its SDK (POST /accounts -> POST /participants)
	code=$(outbound "$label-accounts" $PAYEE_OUT /accounts \
		"[{\"idType\":\"MSISDN\",\"idValue\":\"$PAYEE_MSISDN\",\"currency\":\"$CURRENCY\"}]")
	if [ "$code" = 200 ] && jq -e '.currentState == "COMPLETED" and ([.response[] | select(.error)] | length == 0)' \
		"$WORK/$label-accounts.json" >/dev/null 2>&1; then
		result "[$label] payee SDK registers party (POST /accounts)" PASS
	else
		result "[$label] payee SDK registers party (POST /accounts)" FAIL "HTTP $code $(head -c 600 "$WORK/$label-accounts.json")"
	fi

	# 2. FSPIOP -> FSPIOP: payer SDK pays payeefsp's MSISDN
	code=$(outbound "$label-p2p" $PAYER_OUT /transfers "$(transfer_body "$label-1" $PAYEE_MSISDN 12.34)")
	state=$(jq -r '.currentState // .transferState // empty' "$WORK/$label-p2p.json" 2>/dev/null)
	local id rec
	id=$(jq -r '.transferId // .transferState.transferId // empty' "$WORK/$label-p2p.json" 2>/dev/null)
	rec=$(on_switch "$id")
	if [ "$code" = 200 ] && [ "$state" = COMPLETED ] && [ "$rec" = "COMMITTED 12.34" ]; then
		result "[$label] SDK payer -> SDK payee (FSPIOP to FSPIOP)" PASS "$id; switch: $rec"
	else
		result "[$label] SDK payer -> SDK payee (FSPIOP to FSPIOP)" FAIL "HTTP $code $(sdk_summary "$WORK/$label-p2p.json")"
	fi

	# 3. FSPIOP -> native: payer SDK pays the native participant's alias
	code=$(outbound "$label-native" $PAYER_OUT /transfers "$(transfer_body "$label-2" $NATIVE_MSISDN 5.5)")
	state=$(jq -r '.currentState // empty' "$WORK/$label-native.json" 2>/dev/null)
	id=$(jq -r '.transferId // .transferState.transferId // empty' "$WORK/$label-native.json" 2>/dev/null)
	rec=$(on_switch "$id")
	if [ "$code" = 200 ] && [ "$state" = COMPLETED ] && [ "$rec" = "COMMITTED 5.50" ] &&
		grep -q "$id" "$WORK/native-callbacks.jsonl"; then
		result "[$label] SDK payer -> native payee (alias +$NATIVE_MSISDN)" PASS "$id; switch: $rec; native callback seen"
	else
		result "[$label] SDK payer -> native payee (alias +$NATIVE_MSISDN)" FAIL "HTTP $code $(sdk_summary "$WORK/$label-native.json")"
	fi

	# 4. native -> FSPIOP: the native participant pays payeefsp's MSISDN with POST /v1/transfers
	local nid="wallet-n.$label.$(date +%s)" out payee_transfers
	payee_transfers=$(grep -c '"path":"/transfers"' "$WORK/backend-payee.jsonl")
	out=$(TOKEN=$NATIVE_KEY api POST /v1/transfers \
		"{\"id\":\"$nid\",\"payee\":{\"type\":\"MSISDN\",\"value\":\"+$PAYEE_MSISDN\"},\"amount\":\"3.21\",\"currency\":\"$CURRENCY\"}")
	echo "$out" >"$WORK/$label-native-payer.json"
	state=$(jq -r '.state // .status // empty' <<<"$out" 2>/dev/null)
	if [ "$state" = COMMITTED ] && grep -q '"path":"/transfers","body":{"transferId"' "$WORK/backend-payee.jsonl" &&
		[ "$(grep -c '"path":"/transfers"' "$WORK/backend-payee.jsonl")" -gt "$payee_transfers" ]; then
		result "[$label] native payer -> SDK payee (POST /v1/transfers)" PASS "$nid: $state; payee backend got the transfer"
	else
		result "[$label] native payer -> SDK payee (POST /v1/transfers)" FAIL "$(head -c 800 <<<"$out")"
	fi

	# 5. unknown party: the SDK reports the switch's error
	code=$(outbound "$label-unknown" $PAYER_OUT /transfers "$(transfer_body "$label-3" 27799999999 1)")
	local ec
	ec=$(jq -r '.transferState.lastError.mojaloopError.errorInformation.errorCode // .lastError.mojaloopError.errorInformation.errorCode // empty' "$WORK/$label-unknown.json" 2>/dev/null)
	if [ "$ec" = 3204 ] || [ "$ec" = 3200 ]; then
		result "[$label] unknown party -> SDK gets error $ec" PASS
	else
		result "[$label] unknown party -> SDK gets error" FAIL "HTTP $code $(sdk_summary "$WORK/$label-unknown.json")"
	fi
	stop_sdks
}

register_keys() { # with|without: each DFSP's public key registered with the switch (operator PATCH)
	local id port out
	for id in payerfsp payeefsp; do
		port=$PAYER_IN
		[ $id = payeefsp ] && port=$PAYEE_IN
		if [ "$1" = with ]; then
			out=$(api PATCH "/v1/participants/$id" "$(jq -n --arg e "http://127.0.0.1:$port" --rawfile k "$WORK/keys/$id.pem" \
				'{fspiop:{endpoint:$e,jwsPublicKey:$k}}')")
			jq -e .fspiop.jwsPublicKey >/dev/null <<<"$out" || log "PATCH $id: $out"
		else
			out=$(api PATCH "/v1/participants/$id" "{\"fspiop\":{\"endpoint\":\"http://127.0.0.1:$port\"}}")
			jq -e '.fspiop | has("jwsPublicKey") | not' >/dev/null <<<"$out" || log "PATCH $id: $out"
		fi
	done
}

for s in $SCENARIOS; do
	case $s in
	plain) register_keys without && run_set plain false ;;
	# The SDKs sign and verify, the switch signs its own messages but has
	# no key of theirs, so it does not verify them: this checks the relay
	# of the DFSPs' signatures and the switch's own signatures.
	jwsrelay) register_keys without && run_set jwsrelay true ;;
	# As above, and the switch verifies the DFSPs' signatures too.
	jws)
		register_keys with && run_set jws true
		# Evidence for a 3105: over which form of the body the SDK's signature verifies.
		log "payee SDK's signatures: $(node "$HERE/jwscheck.js" "$WORK/sdk-payee.log" "$WORK/keys/payeefsp.pem" /parties/)"
		log "payer SDK's signatures: $(node "$HERE/jwscheck.js" "$WORK/sdk-payer.log" "$WORK/keys/payerfsp.pem" /quotes)"
		;;
	# The switch verifies payerfsp's signature on one POST /participants/MSISDN/{ID},
	# signed by the SDK's own sdk-standard-components and by the current one.
	signers)
		register_keys with
		if [ ! -d "$SDK_DIR/ssc19/node_modules/@mojaloop/sdk-standard-components" ]; then
			mkdir -p "$SDK_DIR/ssc19" && (cd "$SDK_DIR/ssc19" && { [ -f package.json ] || npm init -y >/dev/null; } &&
				npm install --no-audit --no-fund @mojaloop/sdk-standard-components@19.19.1 >"$WORK/npm-ssc19.log" 2>&1)
		fi
		for ssc in "$SDK_DIR/node_modules/@mojaloop/sdk-standard-components" "$SDK_DIR/ssc19/node_modules/@mojaloop/sdk-standard-components"; do
			v=$(jq -r .version "$ssc/package.json" 2>/dev/null)
			out=$(node "$HERE/signers.js" "$ssc" "http://$FSP_ADDR" payerfsp "$WORK/keys/payerfsp.key" "$PAYER_KEY" 2>&1)
			if [ "${out%% *}" = 202 ]; then
				result "[signers] switch verifies SSC $v signature" PASS "$out"
			else
				result "[signers] switch verifies SSC $v signature" FAIL "$(head -c 400 <<<"$out")"
			fi
		done
		;;
	# No signatures, and a scheme fee (0.10 + 0.1 %, 0.10 to 5.00) on USD.
	fees)
		register_keys without
		api PUT /v1/fees/$CURRENCY '{"fixed":"0.10","rate":"0.10","min":"0.10","max":"5.00"}' >"$WORK/fees.json"
		run_set fees false
		api DELETE /v1/fees/$CURRENCY >/dev/null
		;;
	*) log "unknown scenario $s" ;;
	esac
done

log "balances: payerfsp $(balance payerfsp) payeefsp $(balance payeefsp) wallet-n $(balance wallet-n)"
if [ "$FAILS" = 0 ]; then echo "ALL PASS"; else echo "$FAILS FAILED (logs: KEEP=1 $0)"; fi
[ "$FAILS" = 0 ]
